package audit

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/keyraft/keyraft/internal/diskspace"
)

// Store is a node's on-disk audit log: a directory of append-only segment
// files (segment.go, frame.go) and a small meta file (meta.go). The state
// machine appends to it in log order; everyone else only reads, through
// Views that stay consistent while appends go on.
//
// Nothing but the head, the meta and a few seek marks per segment is kept
// in memory, and nothing is mapped: readers use buffered preads, so a
// node's memory does not grow with its log.
type Store struct {
	dir         string
	readOnly    bool
	lock        *os.File // the directory, flock'ed (lock_unix.go)
	segmentSize int64    // where the writer starts a new segment; tests shrink it

	// wmu serialises the writers (Append*, Trim, Restore, Extend, SetIndex,
	// Close) and guards the fields below it. Writers read head, index,
	// meta and segs without mu: only they change them.
	wmu     sync.Mutex
	active  *segment   // where appends go; nil before the first record
	created []*segment // segments created by the write in progress, published at its end
	buf     []byte     // the frames of the write in progress
	hasher  hash.Hash
	err     error // a failed write: the store refuses further writes until reopened

	// mu guards what readers see, against the writer publishing: segs,
	// head, index, meta, closed, and each segment's size and refs.
	mu     sync.Mutex
	segs   []*segment
	head   Record // Seq and Hash of the newest event (zero when empty)
	index  uint64 // Raft index of the newest batch appended
	meta   meta
	closed bool
}

// Open opens (or creates) the store in directory dir.
//
// Appends are not fsynced: the Raft log, which is, already holds every
// batch durably, and each frame records its batch's Raft index. After a
// crash the store is behind, or ends in a torn record: Open cuts the log
// back to its last complete batch and recovers the index from there, so
// Raft's replay of its log (or its snapshot restore) brings it back and
// never finds a batch claimed that is not all there. A store whose files
// are not what this version writes is set aside and rebuilt the same way.
func Open(dir string) (*Store, error) {
	s, err := open(dir, false)
	if errors.Is(err, errCorruptStore) {
		aside := fmt.Sprintf("%s.corrupt-%d", dir, time.Now().Unix())
		if rerr := os.Rename(dir, aside); rerr == nil {
			s, err = open(dir, false)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("open audit store: %w", err)
	}
	return s, nil
}

// OpenReadOnly opens a stopped node's store for offline verification. It
// changes nothing on disk: a torn tail is read up to where it tears.
func OpenReadOnly(dir string) (*Store, error) {
	s, err := open(dir, true)
	if err != nil {
		return nil, fmt.Errorf("open audit store %s (is the node still running?): %w", dir, err)
	}
	return s, nil
}

func open(dir string, readOnly bool) (*Store, error) {
	if !readOnly {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, err
		}
	}
	lock, err := lockDir(dir, !readOnly)
	if err != nil {
		return nil, err
	}
	s := &Store{dir: dir, readOnly: readOnly, lock: lock, segmentSize: defaultSegmentSize, hasher: sha256.New()}
	if err := s.load(); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// load reads the meta, opens the segments and recovers the head.
func (s *Store) load() error {
	m, err := readMeta(s.dir)
	if err != nil {
		return err
	}
	s.meta = m
	firsts, err := listSegments(s.dir)
	if err != nil {
		return err
	}
	if !s.readOnly {
		_ = os.Remove(filepath.Join(s.dir, metaName+".tmp"))
	}
	// Segments wholly below the retained window are what a trim left when
	// the node stopped between writing the meta and removing them.
	for len(firsts) > 1 && firsts[1] <= m.first {
		if !s.readOnly {
			if err := os.Remove(filepath.Join(s.dir, segmentName(firsts[0]))); err != nil {
				return err
			}
		}
		firsts = firsts[1:]
	}
	for i, first := range firsts {
		g, err := openSegment(s.dir, first, !s.readOnly)
		if errors.Is(err, errTornFrame) && i == len(firsts)-1 {
			// Created, header not (all) written: the node stopped right then.
			g.f.Close()
			if !s.readOnly {
				if err := os.Remove(g.path); err != nil {
					return err
				}
			}
			break
		}
		if err != nil {
			if g != nil {
				g.f.Close()
			}
			if errors.Is(err, errTornFrame) { // not the newest: it was synced when sealed
				return fmt.Errorf("%w: %v", errCorruptStore, err)
			}
			return err
		}
		g.refs = 1
		s.segs = append(s.segs, g)
	}
	return s.recoverTail()
}

// recoverTail finds the head and the index in the newest segment with a
// complete batch. A writable store cuts off what follows that batch (a
// torn record, the first records of a batch the crash interrupted) and
// removes newer segments with no complete batch; Raft replays those
// batches whole. A read-only store keeps them in view, to verify as they
// are.
func (s *Store) recoverTail() error {
	s.head, s.index = s.meta.anchor, 0
	for i := len(s.segs) - 1; i >= 0; i-- {
		g := s.segs[i]
		sc, _ := scanSegment(g.f, g.path, g.size) // the scan stops at the first bad frame: the tail
		if sc.records {
			s.head, s.index = sc.head, sc.index
			if !s.readOnly && sc.end < g.size {
				if err := g.f.Truncate(sc.end); err != nil {
					return err
				}
				g.size, g.written = sc.end, sc.end
			}
			g.marks, g.indexed = sc.marks, true
			break
		}
		if !s.readOnly {
			g.f.Close()
			if err := os.Remove(g.path); err != nil {
				return err
			}
			s.segs = s.segs[:i]
		}
	}
	if !s.readOnly && len(s.segs) > 0 {
		s.active = s.segs[len(s.segs)-1]
	}
	if s.meta.index > s.index && s.meta.indexHead <= s.head.Seq {
		s.index = s.meta.index
	}
	return nil
}

// SetSegmentSize sets where the writer starts a new segment (default
// 64 MiB), before anything is appended. Every node of a cluster must use
// the same: segments roll at the same events everywhere, which snapshots
// by reference rely on. Only tests change it.
func (s *Store) SetSegmentSize(n int64) {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	s.segmentSize = n
}

// Close closes the files; views still open keep theirs until they close.
func (s *Store) Close() error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	for _, g := range append(s.segs, s.created...) {
		g.release()
	}
	s.segs, s.created, s.active = nil, nil, nil
	return s.lock.Close()
}

// Head is the sequence number and hash of the newest event.
func (s *Store) Head() (uint64, [32]byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.head.Seq, s.head.Hash
}

// Index is the Raft index of the newest batch the store holds (or of the
// snapshot it was restored from, if later).
func (s *Store) Index() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.index
}

// First is the sequence number of the oldest retained event (0 when empty).
func (s *Store) First() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.firstLocked()
}

func (s *Store) firstLocked() uint64 {
	if len(s.segs) == 0 {
		return 0
	}
	if f := max(s.meta.first, s.segs[0].first); f <= s.head.Seq {
		return f
	}
	return 0
}

// Batch is the events of one Raft entry.
type Batch struct {
	Index  uint64 // the entry's Raft index; 0 in tests that do not replay
	Events [][]byte
}

// Append chains the events of the batch at Raft index after the newest
// event and returns the sequence number of the first.
func (s *Store) Append(index uint64, events [][]byte) (uint64, error) {
	firsts, err := s.AppendBatches([]Batch{{Index: index, Events: events}})
	if err != nil {
		return 0, err
	}
	return firsts[0], nil
}

// AppendBatches chains several entries' events in one write (the FSM
// applies Raft's committed entries in runs) and returns each batch's first
// sequence number.
//
// The store outlives the process but the FSM does not: after a restart
// Raft replays its log into the FSM, and batches the store already holds
// come again. They are recognised by index and skipped (first = 0), so each
// event is stored once.
func (s *Store) AppendBatches(batches []Batch) ([]uint64, error) {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if err := s.writable(); err != nil {
		return nil, err
	}
	firsts := make([]uint64, len(batches))
	head, index := s.head, s.index
	for _, batch := range batches {
		for _, ev := range batch.Events {
			if err := checkEvent(ev); err != nil {
				return nil, err // before anything is written: the store stays usable
			}
		}
	}
	for i, batch := range batches {
		if batch.Index != 0 && batch.Index <= index {
			continue
		}
		firsts[i] = head.Seq + 1
		if len(batch.Events) > 0 {
			if err := s.room(head.Seq+1, eventsSize(batch.Events)); err != nil {
				return nil, s.fail(err)
			}
		}
		for j, ev := range batch.Events {
			var flags byte
			if j == len(batch.Events)-1 {
				flags = flagBatchEnd
			}
			head = s.chain(head, ev, flags, batch.Index)
		}
		index = max(index, batch.Index)
	}
	if err := s.flush(); err != nil {
		return nil, s.fail(err)
	}
	s.publish(head, index, s.meta, nil)
	return firsts, nil
}

// SetIndex records the Raft index the store's content reflects (after a
// snapshot restore). The segments are synced first, so that the claim
// survives a power loss only together with what it claims.
func (s *Store) SetIndex(index uint64) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if err := s.writable(); err != nil {
		return err
	}
	m := s.meta
	m.index, m.indexHead = index, s.head.Seq
	if err := s.syncActive(); err != nil {
		return s.fail(err)
	}
	if err := writeMeta(s.dir, m); err != nil {
		if diskspace.IsNoSpace(err) {
			// The old meta is still in place (it is replaced by a rename
			// only once the new one is whole): the claim is kept in memory
			// alone, and a restart restores the same snapshot and makes it
			// again. A node restarted on a full disk must not fail here.
			_ = os.Remove(filepath.Join(s.dir, metaName+".tmp"))
			s.publish(s.head, index, s.meta, nil)
			return nil
		}
		return s.fail(err)
	}
	s.publish(s.head, index, m, nil)
	return nil
}

// resetLocked empties the store (a restore's first step); views still
// open keep reading what they saw. It removes the segments newest first
// and the meta last, so a crash midway leaves an older, shorter log,
// never one with a hole.
func (s *Store) resetLocked() error {
	s.mu.Lock()
	old := s.segs
	s.segs, s.head, s.index, s.meta = nil, Record{}, 0, meta{}
	s.mu.Unlock()
	s.active = nil
	var err error
	for i := len(old) - 1; i >= 0; i-- {
		if rerr := os.Remove(old[i].path); rerr != nil && err == nil {
			err = rerr
		}
	}
	s.releaseAll(old)
	if rerr := os.Remove(filepath.Join(s.dir, metaName)); rerr != nil && !errors.Is(rerr, fs.ErrNotExist) && err == nil {
		err = rerr
	}
	if err == nil {
		err = syncDir(s.dir)
	}
	if err != nil {
		return s.fail(fmt.Errorf("reset audit store: %w", err))
	}
	return nil
}

func (s *Store) writable() error {
	switch {
	case s.readOnly:
		return ErrReadOnly
	case s.closed:
		return ErrClosed
	case s.err != nil:
		return fmt.Errorf("audit store failed earlier (reopen to recover): %w", s.err)
	}
	return nil
}

// fail stops the store from writing after a failed write: what is on disk
// past the published state is unknown until Open recovers it.
func (s *Store) fail(err error) error {
	s.err = err
	return err
}

// Recover lets a store whose write failed for lack of space write again.
// What that write left on disk is unknown, so the store reads its files
// back as Open does after a crash: a torn tail is cut back to the last
// complete batch and the head and index come from the records. The caller
// then repeats the write; batches the store already holds are skipped by
// index, as in a replay. A store that failed for any other reason stays
// failed (ErrDiverged above all must not be forgotten).
func (s *Store) Recover() error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if s.err == nil || s.closed || s.readOnly {
		return s.writable()
	}
	if !diskspace.IsNoSpace(s.err) {
		return s.writable()
	}
	fresh := &Store{dir: s.dir, segmentSize: s.segmentSize, hasher: s.hasher}
	if err := fresh.load(); err != nil {
		for _, g := range fresh.segs {
			g.f.Close()
		}
		return fmt.Errorf("recover audit store: %w", err)
	}
	s.mu.Lock()
	old := append(s.segs, s.created...)
	s.segs, s.head, s.index, s.meta = fresh.segs, fresh.head, fresh.index, fresh.meta
	for _, g := range old {
		g.release()
	}
	s.mu.Unlock()
	s.active, s.created, s.buf, s.err = fresh.active, nil, nil, nil
	return nil
}
