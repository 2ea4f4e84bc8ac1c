package fsm

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/hashicorp/raft"
	"google.golang.org/protobuf/proto"

	"github.com/keyraft/keyraft/audit"
	"github.com/keyraft/keyraft/fsm/fsmpb"
)

// Snapshot stream: the magic, then uvarint-length-prefixed protobuf messages:
// one SnapshotHeader, then SnapshotRecords in a fixed order (init, keys by id,
// tombstones by node id, aliases by name, users by name, users' access keys by id,
// grants by id). The same state always yields the same bytes.
const (
	snapshotMagic         = "KRSNAP"
	snapshotFormatVersion = 1
	// maxRecordSize bounds one record so a corrupt length cannot allocate wildly.
	maxRecordSize = 64 << 20
)

var ErrBadSnapshot = errors.New("bad snapshot")

// fsmSnapshot holds an immutable copy of the records, taken under the FSM's
// read lock so Apply can continue while Persist writes.
type fsmSnapshot struct {
	header  *fsmpb.SnapshotHeader
	records []*fsmpb.SnapshotRecord
	audit   *audit.View // nil without an audit store
}

func captureSnapshot(st *state, index uint64) *fsmSnapshot {
	s := &fsmSnapshot{header: &fsmpb.SnapshotHeader{FormatVersion: snapshotFormatVersion, LastIndex: index}}
	if st.init != nil {
		s.records = append(s.records, &fsmpb.SnapshotRecord{Record: &fsmpb.SnapshotRecord_Init{Init: clone(st.init)}})
	}
	for _, id := range st.sortedKeyIDs() {
		s.records = append(s.records, &fsmpb.SnapshotRecord{Record: &fsmpb.SnapshotRecord_Key{Key: clone(st.keys[id])}})
	}
	for _, id := range sortedKeys(st.removed) {
		s.records = append(s.records, &fsmpb.SnapshotRecord{Record: &fsmpb.SnapshotRecord_RemovedPeer{RemovedPeer: clone(st.removed[id])}})
	}
	for _, name := range sortedKeys(st.aliases) {
		s.records = append(s.records, &fsmpb.SnapshotRecord{Record: &fsmpb.SnapshotRecord_Alias{Alias: clone(st.aliases[name])}})
	}
	for _, name := range sortedKeys(st.users) {
		s.records = append(s.records, &fsmpb.SnapshotRecord{Record: &fsmpb.SnapshotRecord_User{User: clone(st.users[name])}})
	}
	for _, id := range sortedKeys(st.accessKeys) {
		if ak := st.accessKeys[id]; ak.UserName != "" {
			s.records = append(s.records, &fsmpb.SnapshotRecord{Record: &fsmpb.SnapshotRecord_AccessKey{AccessKey: clone(ak)}})
		}
	}
	for _, id := range sortedKeys(st.grants) {
		s.records = append(s.records, &fsmpb.SnapshotRecord{Record: &fsmpb.SnapshotRecord_Grant{Grant: clone(st.grants[id])}})
	}
	return s
}

// Persist writes the snapshot and cancels the sink on any error.
func (s *fsmSnapshot) Persist(sink raft.SnapshotSink) error {
	if err := s.write(sink); err != nil {
		_ = sink.Cancel()
		return err
	}
	return sink.Close()
}

func (s *fsmSnapshot) Release() {
	if s.audit != nil {
		s.audit.Close()
	}
}

// write streams the snapshot encoding to w.
func (s *fsmSnapshot) write(w io.Writer) error {
	bw := bufio.NewWriter(w)
	if _, err := bw.WriteString(snapshotMagic); err != nil {
		return err
	}
	if err := writeRecord(bw, s.header); err != nil {
		return err
	}
	for _, r := range s.records {
		if err := writeRecord(bw, r); err != nil {
			return err
		}
	}
	if s.audit != nil {
		if a, ok := s.audit.Anchor(); ok {
			if err := writeRecord(bw, &fsmpb.SnapshotRecord{Record: &fsmpb.SnapshotRecord_AuditAnchor{AuditAnchor: auditToProto(a)}}); err != nil {
				return err
			}
		}
		err := s.audit.Each(0, func(r audit.Record) (bool, error) {
			return true, writeRecord(bw, &fsmpb.SnapshotRecord{Record: &fsmpb.SnapshotRecord_AuditEvent{AuditEvent: auditToProto(r)}})
		})
		if err != nil {
			return err
		}
	}
	return bw.Flush()
}

func writeRecord(w *bufio.Writer, m proto.Message) error {
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	if err != nil {
		return err
	}
	var lenBuf [binary.MaxVarintLen64]byte
	n := binary.PutUvarint(lenBuf[:], uint64(len(b)))
	if _, err := w.Write(lenBuf[:n]); err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}

// auditLoadBatch is how many audit records a restore writes per transaction.
const auditLoadBatch = 4096

func auditToProto(r audit.Record) *fsmpb.AuditRecord {
	return &fsmpb.AuditRecord{Seq: r.Seq, PrevHash: r.Prev[:], Hash: r.Hash[:], Event: r.Event}
}

func auditFromProto(p *fsmpb.AuditRecord) (audit.Record, error) {
	r := audit.Record{Seq: p.Seq, Event: p.Event}
	if len(p.PrevHash) != 32 || len(p.Hash) != 32 {
		return r, fmt.Errorf("%w: audit record %d", ErrBadSnapshot, p.Seq)
	}
	copy(r.Prev[:], p.PrevHash)
	copy(r.Hash[:], p.Hash)
	return r, nil
}

// readSnapshot rebuilds the state, and the audit store when one is given
// (emptied first), from a snapshot stream.
func readSnapshot(r io.Reader, store *audit.Store) (*state, uint64, error) {
	br := bufio.NewReader(r)
	magic := make([]byte, len(snapshotMagic))
	if _, err := io.ReadFull(br, magic); err != nil || string(magic) != snapshotMagic {
		return nil, 0, fmt.Errorf("%w: missing magic", ErrBadSnapshot)
	}
	var hdr fsmpb.SnapshotHeader
	if err := readRecord(br, &hdr); err != nil {
		return nil, 0, err
	}
	if hdr.FormatVersion != snapshotFormatVersion {
		return nil, 0, fmt.Errorf("%w: format version %d", ErrBadSnapshot, hdr.FormatVersion)
	}
	st := newState()
	if store != nil {
		if err := store.Reset(); err != nil {
			return nil, 0, err
		}
	}
	var pending []audit.Record
	var anchor *audit.Record
	flush := func() error {
		if store == nil || (len(pending) == 0 && anchor == nil) {
			return nil
		}
		err := store.Load(pending, anchor)
		pending, anchor = pending[:0], nil
		return err
	}
	for {
		var rec fsmpb.SnapshotRecord
		err := readRecord(br, &rec)
		if errors.Is(err, io.EOF) {
			if err := flush(); err != nil {
				return nil, 0, err
			}
			if store != nil {
				if err := store.SetIndex(hdr.LastIndex); err != nil {
					return nil, 0, err
				}
			}
			return st, hdr.LastIndex, nil
		}
		if err != nil {
			return nil, 0, err
		}
		switch v := rec.Record.(type) {
		case *fsmpb.SnapshotRecord_AuditEvent, *fsmpb.SnapshotRecord_AuditAnchor:
			var p *fsmpb.AuditRecord
			if e, ok := v.(*fsmpb.SnapshotRecord_AuditEvent); ok {
				p = e.AuditEvent
			} else {
				p = v.(*fsmpb.SnapshotRecord_AuditAnchor).AuditAnchor
			}
			ar, err := auditFromProto(p)
			if err != nil {
				return nil, 0, err
			}
			if _, isAnchor := v.(*fsmpb.SnapshotRecord_AuditAnchor); isAnchor {
				anchor = &ar
			} else {
				pending = append(pending, ar)
			}
			if len(pending) >= auditLoadBatch {
				if err := flush(); err != nil {
					return nil, 0, err
				}
			}
		case *fsmpb.SnapshotRecord_Init:
			st.setInit(v.Init)
		case *fsmpb.SnapshotRecord_Key:
			st.keys[v.Key.GetKeyId()] = v.Key
		case *fsmpb.SnapshotRecord_RemovedPeer:
			st.removed[v.RemovedPeer.GetNodeId()] = v.RemovedPeer
		case *fsmpb.SnapshotRecord_Alias:
			st.aliases[v.Alias.GetAliasName()] = v.Alias
		case *fsmpb.SnapshotRecord_User:
			st.users[v.User.GetName()] = v.User
		case *fsmpb.SnapshotRecord_AccessKey:
			st.accessKeys[v.AccessKey.GetAccessKeyId()] = v.AccessKey
		case *fsmpb.SnapshotRecord_Grant:
			st.grants[v.Grant.GetGrantId()] = v.Grant
		default:
			return nil, 0, fmt.Errorf("%w: unknown record", ErrBadSnapshot)
		}
	}
}

// readRecord returns io.EOF only at a clean record boundary.
func readRecord(br *bufio.Reader, m proto.Message) error {
	n, err := binary.ReadUvarint(br)
	if errors.Is(err, io.EOF) {
		return io.EOF
	}
	if err != nil {
		return fmt.Errorf("%w: %v", ErrBadSnapshot, err)
	}
	if n > maxRecordSize {
		return fmt.Errorf("%w: record of %d bytes", ErrBadSnapshot, n)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(br, b); err != nil {
		return fmt.Errorf("%w: truncated record", ErrBadSnapshot)
	}
	if err := proto.Unmarshal(b, m); err != nil {
		return fmt.Errorf("%w: %v", ErrBadSnapshot, err)
	}
	return nil
}
