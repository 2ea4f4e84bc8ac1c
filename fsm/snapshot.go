package fsm

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/hashicorp/raft"
	"google.golang.org/protobuf/proto"

	"github.com/keyraft/keyraft/audit"
	"github.com/keyraft/keyraft/fsm/fsmpb"
)

// Snapshot stream: the magic, then uvarint-length-prefixed protobuf messages:
// one SnapshotHeader, then SnapshotRecords in a fixed order (init, keys by id,
// tombstones by node id, aliases by name, users by name, users' access keys by id,
// grants by id, the audit log's extent), then the bytes of the audit log's
// segment files. The same state always yields the same bytes.
//
// Format 2 carries the audit segments as they are on disk, so that a sink
// that can (snapshots.Sink) takes them by reference instead of copying
// gigabytes each time, and a node that already holds the log keeps it.
// Format 1 (records, one per event) is no longer read: no release wrote it.
const (
	snapshotMagic         = "KRSNAP"
	snapshotFormatVersion = 2
	// maxRecordSize bounds one record so a corrupt length cannot allocate wildly.
	maxRecordSize = 64 << 20
)

var ErrBadSnapshot = errors.New("bad snapshot")

// fsmSnapshot holds what a snapshot writes, taken under the FSM's read
// lock so Apply can continue while Persist writes: the records in the
// order they are written, but for the keys and the grants (written after
// init and last), which are shared with the state (see captureSnapshot)
// and wrapped in a record only as they are written.
type fsmSnapshot struct {
	header *fsmpb.SnapshotHeader
	init   *fsmpb.SnapshotRecord // nil before init
	keys   []*fsmpb.Key
	// records: tombstones, voters, aliases, users, access keys.
	records []*fsmpb.SnapshotRecord
	grants  []*fsmpb.Grant
	audit   *audit.View // nil without an audit store
}

// captureSnapshot takes what a snapshot of st holds.
//
// Keys and grants are not copied: with 100,000 keys and 50,000 grants,
// copying them took a second under the lock, stalling every Apply and so
// every request (docs/performance.md, "Scale"). A grant never changes
// once created, and Apply changes a key only in a copy of its own once a
// capture holds it (state.ownKey), so Persist reads them as they were.
// The rest is small and copied.
func captureSnapshot(st *state, index uint64) *fsmSnapshot {
	st.captures.Add(1)
	s := &fsmSnapshot{header: &fsmpb.SnapshotHeader{FormatVersion: snapshotFormatVersion, LastIndex: index, LastTimestamp: st.lastTime}}
	if st.init != nil {
		s.init = &fsmpb.SnapshotRecord{Record: &fsmpb.SnapshotRecord_Init{Init: clone(st.init)}}
	}
	s.keys = make([]*fsmpb.Key, 0, len(st.keys))
	st.index.ids.Ascend(func(id string) bool {
		s.keys = append(s.keys, st.keys[id])
		return true
	})
	for _, id := range sortedKeys(st.removed) {
		s.records = append(s.records, &fsmpb.SnapshotRecord{Record: &fsmpb.SnapshotRecord_RemovedPeer{RemovedPeer: clone(st.removed[id])}})
	}
	for _, id := range sortedKeys(st.voters) {
		s.records = append(s.records, &fsmpb.SnapshotRecord{Record: &fsmpb.SnapshotRecord_Voter{Voter: clone(st.voters[id])}})
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
	s.grants = make([]*fsmpb.Grant, 0, len(st.grants.byID))
	for _, g := range st.grants.byID {
		s.grants = append(s.grants, g)
	}
	slices.SortFunc(s.grants, func(a, b *fsmpb.Grant) int { return strings.Compare(a.GrantId, b.GrantId) })
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

// fileWriter is a snapshot sink that can take a prefix of an append-only
// file by reference (snapshots.Sink).
type fileWriter interface {
	WriteFile(f *os.File, size int64) error
}

// write streams the snapshot encoding to w.
func (s *fsmSnapshot) write(w io.Writer) error {
	bw := bufio.NewWriter(w)
	var rb recordBuf
	if _, err := bw.WriteString(snapshotMagic); err != nil {
		return err
	}
	if err := rb.write(bw, s.header); err != nil {
		return err
	}
	if s.init != nil {
		if err := rb.write(bw, s.init); err != nil {
			return err
		}
	}
	key := &fsmpb.SnapshotRecord_Key{}
	rec := &fsmpb.SnapshotRecord{Record: key}
	for _, k := range s.keys {
		key.Key = k
		if err := rb.write(bw, rec); err != nil {
			return err
		}
	}
	for _, r := range s.records {
		if err := rb.write(bw, r); err != nil {
			return err
		}
	}
	grant := &fsmpb.SnapshotRecord_Grant{}
	rec.Record = grant
	for _, g := range s.grants {
		grant.Grant = g
		if err := rb.write(bw, rec); err != nil {
			return err
		}
	}
	if s.audit == nil {
		return bw.Flush()
	}
	e, files := s.audit.Extent()
	if err := rb.write(bw, &fsmpb.SnapshotRecord{Record: &fsmpb.SnapshotRecord_AuditLog{AuditLog: extentToProto(e)}}); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	fw, byRef := w.(fileWriter)
	for _, f := range files {
		var err error
		if byRef {
			err = fw.WriteFile(f.File, f.Size)
		} else {
			_, err = io.Copy(w, io.NewSectionReader(f.File, 0, f.Size))
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// recordBuf is the one buffer a snapshot's records are marshalled into or
// read from in turn: a snapshot of 100,000 keys otherwise allocated a
// buffer per record, 75 MB per snapshot written and as much per restore.
// proto.Unmarshal copies what it keeps, so the buffer may be reused.
type recordBuf struct{ b []byte }

func writeRecord(w *bufio.Writer, m proto.Message) error {
	var rb recordBuf
	return rb.write(w, m)
}

func (rb *recordBuf) write(w *bufio.Writer, m proto.Message) error {
	b, err := proto.MarshalOptions{Deterministic: true}.MarshalAppend(rb.b[:0], m)
	if err != nil {
		return err
	}
	rb.b = b
	var lenBuf [binary.MaxVarintLen64]byte
	n := binary.PutUvarint(lenBuf[:], uint64(len(b)))
	if _, err := w.Write(lenBuf[:n]); err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}

func extentToProto(e audit.Extent) *fsmpb.AuditLog {
	p := &fsmpb.AuditLog{
		First:     e.First,
		AnchorSeq: e.Anchor.Seq, AnchorHash: e.Anchor.Hash[:],
		HeadSeq: e.Head.Seq, HeadHash: e.Head.Hash[:],
	}
	for _, g := range e.Segments {
		p.Segments = append(p.Segments, &fsmpb.AuditSegment{First: g.First, Size: g.Size})
	}
	return p
}

func extentFromProto(p *fsmpb.AuditLog) (audit.Extent, error) {
	e := audit.Extent{First: p.First, Anchor: audit.Record{Seq: p.AnchorSeq}, Head: audit.Record{Seq: p.HeadSeq}}
	if len(p.AnchorHash) != 32 || len(p.HeadHash) != 32 {
		return e, fmt.Errorf("%w: audit log hashes", ErrBadSnapshot)
	}
	copy(e.Anchor.Hash[:], p.AnchorHash)
	copy(e.Head.Hash[:], p.HeadHash)
	for _, g := range p.Segments {
		e.Segments = append(e.Segments, audit.SegmentExtent{First: g.First, Size: g.Size})
	}
	return e, nil
}

// restoreAudit brings the store to the snapshot's log, rewriting as little
// as it can. A store whose chain already holds the snapshot's head keeps
// what it has (a restart: the store is usually ahead of its newest
// snapshot, and Raft's replay skips the batches it holds); only the Raft
// index it reflects may move up. A store behind, whose head is in the
// snapshot's chain, takes what follows it (a follower that fell further
// behind than the leader's log reaches). Any other store is replaced by
// the segments that follow in r.
//
// A backup being restored (replaces set) takes no shortcut past a store
// that does not hold it: the store's own log may be another chain.
func restoreAudit(store *audit.Store, index uint64, e audit.Extent, r io.Reader, replaces bool) error {
	holds, err := store.Holds(e.Head.Seq, e.Head.Hash)
	if err != nil {
		return err
	}
	if holds {
		if store.Index() < index {
			return store.SetIndex(index)
		}
		return nil
	}
	if replaces {
		return store.Restore(index, e, r)
	}
	if extended, err := store.Extend(index, e, r); extended || err != nil {
		return err
	}
	return store.Restore(index, e, r)
}

// readSnapshot rebuilds the state, and brings the audit store when one is
// given to the snapshot's log, from a snapshot stream.
func readSnapshot(r io.Reader, store *audit.Store) (*state, uint64, error) {
	br := bufio.NewReader(r)
	magic := make([]byte, len(snapshotMagic))
	if _, err := io.ReadFull(br, magic); err != nil || string(magic) != snapshotMagic {
		return nil, 0, fmt.Errorf("%w: missing magic", ErrBadSnapshot)
	}
	var rb recordBuf
	var hdr fsmpb.SnapshotHeader
	if err := rb.read(br, &hdr); err != nil {
		return nil, 0, err
	}
	if hdr.FormatVersion != snapshotFormatVersion {
		return nil, 0, fmt.Errorf("%w: format version %d (this version reads %d)", ErrBadSnapshot, hdr.FormatVersion, snapshotFormatVersion)
	}
	st := newState()
	st.lastTime = hdr.LastTimestamp
	for {
		var rec fsmpb.SnapshotRecord
		err := rb.read(br, &rec)
		if errors.Is(err, io.EOF) {
			// Written without an audit store (tests): the log is empty.
			if store != nil {
				if err := store.Restore(hdr.LastIndex, audit.Extent{}, br); err != nil {
					return nil, 0, err
				}
			}
			return st, hdr.LastIndex, nil
		}
		if err != nil {
			return nil, 0, err
		}
		switch v := rec.Record.(type) {
		case *fsmpb.SnapshotRecord_AuditLog:
			e, err := extentFromProto(v.AuditLog)
			if err != nil {
				return nil, 0, err
			}
			if store != nil {
				if err := restoreAudit(store, hdr.LastIndex, e, br, hdr.ReplacesAuditLog); err != nil {
					return nil, 0, err
				}
			}
			return st, hdr.LastIndex, nil // the segments' bytes end the stream
		case *fsmpb.SnapshotRecord_Init:
			st.setInit(v.Init)
		case *fsmpb.SnapshotRecord_Key:
			if old, ok := st.keys[v.Key.GetKeyId()]; ok {
				st.index.removeKey(old) // the last record of a key wins, as it always has
			}
			internKey(v.Key)
			st.keys[v.Key.GetKeyId()] = v.Key
			st.index.addKey(v.Key)
		case *fsmpb.SnapshotRecord_RemovedPeer:
			st.removed[v.RemovedPeer.GetNodeId()] = v.RemovedPeer
		case *fsmpb.SnapshotRecord_Voter:
			st.voters[v.Voter.GetNodeId()] = v.Voter
		case *fsmpb.SnapshotRecord_Alias:
			st.aliases[v.Alias.GetAliasName()] = v.Alias
		case *fsmpb.SnapshotRecord_User:
			st.users[v.User.GetName()] = v.User
		case *fsmpb.SnapshotRecord_AccessKey:
			st.accessKeys[v.AccessKey.GetAccessKeyId()] = v.AccessKey
			st.index.addAccessKey(v.AccessKey)
		case *fsmpb.SnapshotRecord_Grant:
			st.grants.add(v.Grant)
		default:
			return nil, 0, fmt.Errorf("%w: unknown record", ErrBadSnapshot)
		}
	}
}

// readRecord returns io.EOF only at a clean record boundary.
func readRecord(br *bufio.Reader, m proto.Message) error {
	var rb recordBuf
	return rb.read(br, m)
}

func (rb *recordBuf) read(br *bufio.Reader, m proto.Message) error {
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
	if uint64(cap(rb.b)) < n {
		rb.b = make([]byte, n)
	}
	b := rb.b[:n]
	if _, err := io.ReadFull(br, b); err != nil {
		return fmt.Errorf("%w: truncated record", ErrBadSnapshot)
	}
	if err := proto.Unmarshal(b, m); err != nil {
		return fmt.Errorf("%w: %v", ErrBadSnapshot, err)
	}
	return nil
}
