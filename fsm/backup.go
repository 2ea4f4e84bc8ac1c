package fsm

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"

	"github.com/keyraft/keyraft/fsm/fsmpb"
)

// A backup file (`keyraft operator raft snapshot save`) is a raft snapshot
// of this FSM framed so that it can be checked without a cluster:
//
//	"KRBACKUP" | uint32 big-endian header length | header (JSON) |
//	content: the snapshot stream, header.Size bytes | SHA-256 of all before
//
// The checksum is a trailer because the content streams from the leader's
// snapshot store as it is read; it covers the header too, so the identity
// and index cannot be swapped onto other content. It is a checksum, not a
// signature: it catches damage, and the content is sealed material anyway.
const (
	backupMagic         = "KRBACKUP"
	BackupFormatVersion = 1
	// maxBackupHeader bounds the header a reader allocates before anything
	// is checked.
	maxBackupHeader = 4096
)

// ErrBadBackup wraps every refusal of a backup file: damaged, truncated,
// another format.
var ErrBadBackup = errors.New("bad backup file")

// BackupHeader describes a backup file's content.
type BackupHeader struct {
	FormatVersion int `json:"format_version"`
	// ClusterID is ClusterIdentity of the cluster saved (empty when it was
	// not initialised), so that a restore into another cluster is refused.
	ClusterID string `json:"cluster_id"`
	// Index and Term are the raft snapshot's.
	Index uint64 `json:"index"`
	Term  uint64 `json:"term"`
	// Size is the content's length in bytes.
	Size int64 `json:"size"`
	// Created is when the save began (RFC 3339, the cluster clock).
	Created string `json:"created"`
	// NodeID is the server that wrote the content.
	NodeID string `json:"node_id"`
}

// ClusterIdentity names an initialised cluster: a hash of its init
// record's sealed keyring, which is made once at init under the root key
// the shares split, so two clusters initialised apart never share it.
// It reveals nothing the sealed keyring does not.
func ClusterIdentity(sealedKeyring []byte) string {
	h := sha256.New()
	h.Write([]byte("keyraft cluster identity\x00"))
	h.Write(sealedKeyring)
	return hex.EncodeToString(h.Sum(nil))
}

// initIdentity is the identity an init record names: the one the first
// rekey recorded, or else the hash of its sealed keyring. (A rekey replaces
// the sealed keyring; the cluster, and its backups, stay the same.)
func initIdentity(in *fsmpb.Init) string {
	if in.GetClusterId() != "" {
		return in.GetClusterId()
	}
	return ClusterIdentity(in.GetSealedKeyring())
}

// ClusterID is ClusterIdentity of this replica's init record; false
// before init.
func (q Query) ClusterID() (string, bool) {
	in, ok := q.Init()
	if !ok {
		return "", false
	}
	if in.ClusterID != "" {
		return in.ClusterID, true
	}
	return ClusterIdentity(in.SealedKeyring), true
}

// BackupWriter writes a backup file: the header at creation, the content
// through Write, the checksum at Close.
type BackupWriter struct {
	w       io.Writer
	sum     hash.Hash
	size    int64
	written int64
}

// NewBackupWriter writes h's framing to w and returns the writer of its
// content.
func NewBackupWriter(w io.Writer, h BackupHeader) (*BackupWriter, error) {
	h.FormatVersion = BackupFormatVersion
	hdr, err := json.Marshal(h)
	if err != nil {
		return nil, err
	}
	if len(hdr) > maxBackupHeader {
		return nil, fmt.Errorf("backup header of %d bytes", len(hdr))
	}
	sum := sha256.New()
	bw := &BackupWriter{w: w, sum: sum, size: h.Size}
	head := make([]byte, 0, len(backupMagic)+4+len(hdr))
	head = append(head, backupMagic...)
	head = binary.BigEndian.AppendUint32(head, uint32(len(hdr)))
	head = append(head, hdr...)
	sum.Write(head)
	if _, err := w.Write(head); err != nil {
		return nil, err
	}
	return bw, nil
}

func (b *BackupWriter) Write(p []byte) (int, error) {
	if b.written+int64(len(p)) > b.size {
		return 0, fmt.Errorf("backup content longer than the %d bytes its header says", b.size)
	}
	n, err := b.w.Write(p)
	b.sum.Write(p[:n])
	b.written += int64(n)
	return n, err
}

// Close writes the checksum; content shorter than the header said is an
// error, and no checksum is written, so the file is refused on read.
func (b *BackupWriter) Close() error {
	if b.written != b.size {
		return fmt.Errorf("backup content of %d bytes, the header says %d", b.written, b.size)
	}
	_, err := b.w.Write(b.sum.Sum(nil))
	return err
}

// BackupReader reads a backup file's content and, at its end, checks the
// checksum: it returns io.EOF only for a whole, undamaged file, and
// otherwise an ErrBadBackup error in place of the last read, so a consumer
// that stops at the first error (raft's Restore copying into its snapshot
// store) never takes a damaged file.
type BackupReader struct {
	r    io.Reader
	sum  hash.Hash
	left int64
	done bool
	// expect, when set, is the checksum the file must carry.
	expect []byte
}

// Expect makes the reader refuse, at its end, a file whose checksum is not
// sum: the one a restore request was signed over.
func (b *BackupReader) Expect(sum []byte) { b.expect = sum }

// ReadBackupHeader reads and checks a backup file's framing up to its
// content, which the returned reader yields.
func ReadBackupHeader(r io.Reader) (BackupHeader, *BackupReader, error) {
	var h BackupHeader
	var fixed [len(backupMagic) + 4]byte
	if _, err := io.ReadFull(r, fixed[:]); err != nil {
		return h, nil, fmt.Errorf("%w: too short for a header", ErrBadBackup)
	}
	if string(fixed[:len(backupMagic)]) != backupMagic {
		return h, nil, fmt.Errorf("%w: not a keyraft backup (no %s magic)", ErrBadBackup, backupMagic)
	}
	n := binary.BigEndian.Uint32(fixed[len(backupMagic):])
	if n == 0 || n > maxBackupHeader {
		return h, nil, fmt.Errorf("%w: header of %d bytes", ErrBadBackup, n)
	}
	hdr := make([]byte, n)
	if _, err := io.ReadFull(r, hdr); err != nil {
		return h, nil, fmt.Errorf("%w: truncated header", ErrBadBackup)
	}
	dec := json.NewDecoder(bytes.NewReader(hdr))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&h); err != nil || dec.More() {
		return h, nil, fmt.Errorf("%w: header is not this version's JSON", ErrBadBackup)
	}
	if h.FormatVersion != BackupFormatVersion {
		return h, nil, fmt.Errorf("%w: format version %d (this version reads %d)", ErrBadBackup, h.FormatVersion, BackupFormatVersion)
	}
	if h.Size <= 0 {
		return h, nil, fmt.Errorf("%w: content size %d", ErrBadBackup, h.Size)
	}
	if h.ClusterID != "" {
		if b, err := hex.DecodeString(h.ClusterID); err != nil || len(b) != sha256.Size {
			return h, nil, fmt.Errorf("%w: cluster id is not a SHA-256", ErrBadBackup)
		}
	}
	sum := sha256.New()
	sum.Write(fixed[:])
	sum.Write(hdr)
	return h, &BackupReader{r: r, sum: sum, left: h.Size}, nil
}

func (b *BackupReader) Read(p []byte) (int, error) {
	if b.done {
		return 0, io.EOF
	}
	if b.left == 0 {
		return 0, b.finish()
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.r.Read(p)
	b.sum.Write(p[:n])
	b.left -= int64(n)
	if errors.Is(err, io.EOF) {
		if b.left > 0 {
			return n, fmt.Errorf("%w: truncated (%d bytes of content missing)", ErrBadBackup, b.left)
		}
		err = nil
	}
	return n, err
}

// finish reads the trailer and checks nothing follows it.
func (b *BackupReader) finish() error {
	var trailer [sha256.Size]byte
	if _, err := io.ReadFull(b.r, trailer[:]); err != nil {
		return fmt.Errorf("%w: truncated (no checksum)", ErrBadBackup)
	}
	if subtle.ConstantTimeCompare(trailer[:], b.sum.Sum(nil)) != 1 {
		return fmt.Errorf("%w: checksum does not match: the file is damaged", ErrBadBackup)
	}
	if b.expect != nil && subtle.ConstantTimeCompare(trailer[:], b.expect) != 1 {
		return fmt.Errorf("%w: the file's checksum is not the one the request was signed over", ErrBadBackup)
	}
	var extra [1]byte
	if n, _ := io.ReadFull(b.r, extra[:]); n > 0 {
		return fmt.Errorf("%w: data after the checksum", ErrBadBackup)
	}
	b.done = true
	return io.EOF
}

// BackupSummary is what inspect tells of a backup's content.
type BackupSummary struct {
	Header        BackupHeader `json:"header"`
	SnapshotIndex uint64       `json:"snapshot_last_index"`
	Initialized   bool         `json:"initialized"`
	Keys          int          `json:"keys"`
	Aliases       int          `json:"aliases"`
	Grants        int          `json:"grants"`
	Users         int          `json:"users"`
	AccessKeys    int          `json:"access_keys"`
	// AuditFirst and AuditLast are the sequence numbers of the first and
	// last audit events the backup holds (0, 0: none).
	AuditFirst    uint64 `json:"audit_first_seq"`
	AuditLast     uint64 `json:"audit_last_seq"`
	AuditLogBytes int64  `json:"audit_log_bytes"`
}

// InspectBackup reads a whole backup file, checks it and summarises it.
func InspectBackup(r io.Reader) (BackupSummary, error) {
	h, br, err := ReadBackupHeader(r)
	s := BackupSummary{Header: h}
	if err != nil {
		return s, err
	}
	in := bufio.NewReader(br)
	magic := make([]byte, len(snapshotMagic))
	if _, err := io.ReadFull(in, magic); err != nil || string(magic) != snapshotMagic {
		return s, badContent(in, "no snapshot magic")
	}
	var sh fsmpb.SnapshotHeader
	if err := readRecord(in, &sh); err != nil {
		return s, badContent(in, err.Error())
	}
	s.SnapshotIndex = sh.LastIndex
	for {
		var rec fsmpb.SnapshotRecord
		err := readRecord(in, &rec)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return s, badContent(in, err.Error())
		}
		switch v := rec.Record.(type) {
		case *fsmpb.SnapshotRecord_Init:
			s.Initialized = true
			s.AccessKeys++
		case *fsmpb.SnapshotRecord_Key:
			s.Keys++
		case *fsmpb.SnapshotRecord_Alias:
			s.Aliases++
		case *fsmpb.SnapshotRecord_User:
			s.Users++
		case *fsmpb.SnapshotRecord_AccessKey:
			s.AccessKeys++
		case *fsmpb.SnapshotRecord_Grant:
			s.Grants++
		case *fsmpb.SnapshotRecord_AuditLog:
			a := v.AuditLog
			if a.HeadSeq > 0 {
				s.AuditFirst, s.AuditLast = max(a.First, 1), a.HeadSeq
			}
			for _, g := range a.Segments {
				s.AuditLogBytes += g.Size
			}
		}
		if _, ok := rec.Record.(*fsmpb.SnapshotRecord_AuditLog); ok {
			break
		}
	}
	// The segments' bytes follow; reading them to the end checks the sum.
	if _, err := io.Copy(io.Discard, in); err != nil {
		return s, err
	}
	return s, nil
}

// badContent prefers the checksum's verdict, which says why the content
// did not parse (damage), to the parser's.
func badContent(in *bufio.Reader, why string) error {
	if _, err := io.Copy(io.Discard, in); err != nil {
		return err
	}
	return fmt.Errorf("%w: the content is not a keyraft snapshot: %s", ErrBadBackup, why)
}

// maxRestorePrefix bounds the records a restore holds in memory (all but
// the audit log's bytes: the state every replica holds in memory anyway).
const maxRestorePrefix = 512 << 20

// ForRestore turns a backup's content (size bytes of snapshot stream) into
// the stream a restore hands raft, and its length. Cluster membership is
// not the backup's to restore: the voters' identity bindings and the
// removed servers' tombstones are this cluster's, as they stand now, or a
// cluster restored on fresh servers (new identities) would refuse its own
// followers the log. Everything else passes through unchanged; the audit
// log's bytes stream from content.
func (q Query) ForRestore(content io.Reader, size int64, clusterID string) (io.Reader, int64, error) {
	counted := &countingReader{r: content}
	in := bufio.NewReader(counted)
	magic := make([]byte, len(snapshotMagic))
	if _, err := io.ReadFull(in, magic); err != nil || string(magic) != snapshotMagic {
		return nil, 0, fmt.Errorf("%w: the content is not a keyraft snapshot", ErrBadBackup)
	}
	var hdr fsmpb.SnapshotHeader
	if err := readRecord(in, &hdr); err != nil {
		return nil, 0, fmt.Errorf("%w: %v", ErrBadBackup, err)
	}
	if hdr.FormatVersion != snapshotFormatVersion {
		return nil, 0, fmt.Errorf("%w: snapshot format version %d (this version reads %d)", ErrBadBackup, hdr.FormatVersion, snapshotFormatVersion)
	}
	hdr.ReplacesAuditLog = true
	var head, tail []*fsmpb.SnapshotRecord
	sawInit := false
	for {
		var rec fsmpb.SnapshotRecord
		err := readRecord(in, &rec)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, 0, fmt.Errorf("%w: %v", ErrBadBackup, err)
		}
		if counted.n > maxRestorePrefix {
			return nil, 0, fmt.Errorf("%w: more than %d bytes of records", ErrBadBackup, maxRestorePrefix)
		}
		if in, ok := rec.Record.(*fsmpb.SnapshotRecord_Init); ok {
			// The header's cluster id is the file's claim; the keyring
			// the content holds is what the restore installs. A file
			// whose header names this cluster over another's content
			// (the checksum is unkeyed: anyone can recompute it) is refused.
			if got := initIdentity(in.Init); got != clusterID {
				return nil, 0, fmt.Errorf("%w: the content is of cluster %s, not the %s its header names", ErrBadBackup, got, clusterID)
			}
			sawInit = true
		}
		switch rec.Record.(type) {
		case *fsmpb.SnapshotRecord_Init, *fsmpb.SnapshotRecord_Key:
			head = append(head, &rec)
		case *fsmpb.SnapshotRecord_RemovedPeer, *fsmpb.SnapshotRecord_Voter:
		default:
			tail = append(tail, &rec)
		}
		if _, ok := rec.Record.(*fsmpb.SnapshotRecord_AuditLog); ok {
			break
		}
	}
	if !sawInit {
		return nil, 0, fmt.Errorf("%w: the content holds no init record", ErrBadBackup)
	}
	consumed := counted.n - int64(in.Buffered())
	if consumed > size {
		return nil, 0, fmt.Errorf("%w: records run past the content", ErrBadBackup)
	}
	q.f.mu.RLock()
	for _, id := range sortedKeys(q.f.st.removed) {
		head = append(head, &fsmpb.SnapshotRecord{Record: &fsmpb.SnapshotRecord_RemovedPeer{RemovedPeer: clone(q.f.st.removed[id])}})
	}
	for _, id := range sortedKeys(q.f.st.voters) {
		head = append(head, &fsmpb.SnapshotRecord{Record: &fsmpb.SnapshotRecord_Voter{Voter: clone(q.f.st.voters[id])}})
	}
	q.f.mu.RUnlock()
	var buf bytes.Buffer
	w := bufio.NewWriter(&buf)
	_, _ = w.WriteString(snapshotMagic)
	if err := writeRecord(w, &hdr); err != nil {
		return nil, 0, err
	}
	for _, r := range append(head, tail...) {
		if err := writeRecord(w, r); err != nil {
			return nil, 0, err
		}
	}
	if err := w.Flush(); err != nil {
		return nil, 0, err
	}
	n := int64(buf.Len()) + size - consumed
	return io.MultiReader(&buf, in), n, nil
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}
