package audit

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

var (
	bucketEvents = []byte("events")
	bucketMeta   = []byte("meta")
	keyHead      = []byte("head")   // seq(8) | hash(32) of the newest event
	keyAnchor    = []byte("anchor") // seq(8) | hash(32) of the newest trimmed event
	keyIndex     = []byte("index")  // the Raft index of the newest batch appended
)

// Store is a node's on-disk audit log, a bbolt file in the data dir. The
// state machine appends to it in log order; everyone else only reads.
type Store struct {
	db *bolt.DB

	mu    sync.Mutex // guards head and index against Append/Reset vs Head
	head  Record     // Seq and Hash of the newest event (zero when empty)
	index uint64     // Raft index of the newest batch appended
}

// Open opens (or creates) the store at path.
//
// Commits are not fsynced: the Raft log, which is, already holds every
// batch durably, and the store records the Raft index of its newest batch
// in the same transaction. After a crash the store is simply behind, and
// Raft's replay of its log (or its snapshot restore) brings it back; a
// store that no longer opens is set aside and rebuilt the same way.
func Open(path string) (*Store, error) {
	opts := &bolt.Options{Timeout: 2 * time.Second, NoFreelistSync: true, NoSync: true}
	db, err := bolt.Open(path, 0o600, opts)
	if err != nil && !errors.Is(err, berrors.ErrTimeout) {
		aside := fmt.Sprintf("%s.corrupt-%d", path, time.Now().Unix())
		if rerr := os.Rename(path, aside); rerr == nil {
			db, err = bolt.Open(path, 0o600, opts)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("open audit store: %w", err)
	}
	s := &Store{db: db}
	err = db.Update(func(tx *bolt.Tx) error {
		if _, err := tx.CreateBucketIfNotExists(bucketEvents); err != nil {
			return err
		}
		meta, err := tx.CreateBucketIfNotExists(bucketMeta)
		if err != nil {
			return err
		}
		s.head = decodeMark(meta.Get(keyHead))
		if b := meta.Get(keyIndex); len(b) == 8 {
			s.index = binary.BigEndian.Uint64(b)
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// OpenReadOnly opens a stopped node's store for offline verification.
func OpenReadOnly(path string) (*Store, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 2 * time.Second, ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("open audit store %s (is the node still running?): %w", path, err)
	}
	return &Store{db: db}, nil
}

// Close closes the file.
func (s *Store) Close() error { return s.db.Close() }

func encodeMark(seq uint64, hash [32]byte) []byte {
	b := make([]byte, 40)
	binary.BigEndian.PutUint64(b, seq)
	copy(b[8:], hash[:])
	return b
}

func decodeMark(b []byte) Record {
	var r Record
	if len(b) == 40 {
		r.Seq = binary.BigEndian.Uint64(b)
		copy(r.Hash[:], b[8:])
	}
	return r
}

func seqKey(seq uint64) []byte {
	k := make([]byte, 8)
	binary.BigEndian.PutUint64(k, seq)
	return k
}

// Head is the sequence number and hash of the newest event.
func (s *Store) Head() (uint64, [32]byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.head.Seq, s.head.Hash
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

// AppendBatches chains several entries' events in one transaction (the
// FSM applies Raft's committed entries in runs) and returns each batch's
// first sequence number.
//
// The store outlives the process but the FSM does not: after a restart
// Raft replays its log into the FSM, and batches the store already holds
// come again. They are recognised by index and skipped (first = 0), so each
// event is stored once.
func (s *Store) AppendBatches(batches []Batch) ([]uint64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	firsts := make([]uint64, len(batches))
	head, index := s.head, s.index
	err := s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketEvents)
		b.FillPercent = 1.0 // keys only ever grow: pack pages full
		for i, batch := range batches {
			if batch.Index != 0 && batch.Index <= index {
				continue
			}
			firsts[i] = head.Seq + 1
			for _, ev := range batch.Events {
				var err error
				if head, err = putChained(b, head, ev); err != nil {
					return err
				}
			}
			index = max(index, batch.Index)
		}
		return putMarks(tx.Bucket(bucketMeta), index, head)
	})
	if err != nil {
		return nil, err
	}
	s.head, s.index = head, index
	return firsts, nil
}

// putChained stores event after head and returns the new head.
func putChained(b *bolt.Bucket, head Record, event []byte) (Record, error) {
	r := Record{Seq: head.Seq + 1, Prev: head.Hash, Event: event}
	r.Hash = chainHash(r.Prev, r.Seq, event)
	if err := b.Put(seqKey(r.Seq), r.encode()); err != nil {
		return head, err
	}
	return Record{Seq: r.Seq, Hash: r.Hash}, nil
}

// putMarks records the Raft index and head the store now reflects, in the
// same transaction as the events.
func putMarks(meta *bolt.Bucket, index uint64, head Record) error {
	if err := meta.Put(keyIndex, binary.BigEndian.AppendUint64(nil, index)); err != nil {
		return err
	}
	return meta.Put(keyHead, encodeMark(head.Seq, head.Hash))
}

// Trim drops every event before seq `before` (the retention window's start)
// and appends the trim's own event after the newest, in one transaction. The
// newest dropped event becomes the chain's anchor, so the retained log still
// verifies from its first event. Replayed trims are skipped like batches.
func (s *Store) Trim(index, before uint64, event []byte) (uint64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if index != 0 && index <= s.index {
		return 0, nil
	}
	head := s.head
	err := s.db.Update(func(tx *bolt.Tx) error {
		b, meta := tx.Bucket(bucketEvents), tx.Bucket(bucketMeta)
		var drop [][]byte
		var last Record
		c := b.Cursor()
		for k, v := c.First(); k != nil && binary.BigEndian.Uint64(k) < before; k, v = c.Next() {
			r, err := decodeRecord(v)
			if err != nil {
				return err
			}
			last = r
			drop = append(drop, k)
		}
		for _, k := range drop {
			if err := b.Delete(k); err != nil {
				return err
			}
		}
		if last.Seq > 0 {
			if err := meta.Put(keyAnchor, encodeMark(last.Seq, last.Hash)); err != nil {
				return err
			}
		}
		var err error
		if head, err = putChained(b, head, event); err != nil {
			return err
		}
		return putMarks(meta, max(index, s.index), head)
	})
	if err != nil {
		return 0, err
	}
	s.head, s.index = head, max(index, s.index)
	return head.Seq, nil
}

// First is the sequence number of the oldest retained event (0 when empty).
func (s *Store) First() uint64 {
	var first uint64
	_ = s.Read(func(v *View) error {
		if k, _ := v.tx.Bucket(bucketEvents).Cursor().First(); k != nil {
			first = binary.BigEndian.Uint64(k)
		}
		return nil
	})
	return first
}

// SetIndex records the Raft index the store's content reflects (after a
// snapshot restore).
func (s *Store) SetIndex(index uint64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	err := s.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketMeta).Put(keyIndex, binary.BigEndian.AppendUint64(nil, index))
	})
	if err == nil {
		s.index = index
	}
	return err
}

// Reset empties the store (before a snapshot restore).
func (s *Store) Reset() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	err := s.db.Update(func(tx *bolt.Tx) error {
		for _, name := range [][]byte{bucketEvents, bucketMeta} {
			if err := tx.DeleteBucket(name); err != nil && !errors.Is(err, berrors.ErrBucketNotFound) {
				return err
			}
			if _, err := tx.CreateBucket(name); err != nil {
				return err
			}
		}
		return nil
	})
	s.head, s.index = Record{}, 0
	return err
}

// Load writes records exactly as given (from a snapshot), in one
// transaction; they must continue the chain from the current head.
func (s *Store) Load(recs []Record, anchor *Record) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	head := s.head
	err := s.db.Update(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		if anchor != nil {
			if err := meta.Put(keyAnchor, encodeMark(anchor.Seq, anchor.Hash)); err != nil {
				return err
			}
			head = Record{Seq: anchor.Seq, Hash: anchor.Hash}
		}
		b := tx.Bucket(bucketEvents)
		for _, r := range recs {
			if err := b.Put(seqKey(r.Seq), r.encode()); err != nil {
				return err
			}
			head = r
		}
		return meta.Put(keyHead, encodeMark(head.Seq, head.Hash))
	})
	if err == nil {
		s.head = Record{Seq: head.Seq, Hash: head.Hash}
	}
	return err
}

// View is a consistent read of the store, open until Close.
type View struct {
	tx *bolt.Tx
}

// View opens a read transaction; snapshots stream from it while Apply goes on.
func (s *Store) View() (*View, error) {
	tx, err := s.db.Begin(false)
	if err != nil {
		return nil, err
	}
	return &View{tx: tx}, nil
}

// Close ends the read.
func (v *View) Close() { _ = v.tx.Rollback() }

// Anchor is the last trimmed event (the chain's starting point), if any.
func (v *View) Anchor() (Record, bool) {
	b := v.tx.Bucket(bucketMeta).Get(keyAnchor)
	if b == nil {
		return Record{}, false
	}
	return decodeMark(b), true
}

// Each calls fn for every record with Seq > after, in order, until fn
// returns false or an error.
func (v *View) Each(after uint64, fn func(Record) (bool, error)) error {
	c := v.tx.Bucket(bucketEvents).Cursor()
	for k, val := c.Seek(seqKey(after + 1)); k != nil; k, val = c.Next() {
		r, err := decodeRecord(val)
		if err != nil {
			return fmt.Errorf("%w at key %x", err, k)
		}
		more, err := fn(r)
		if err != nil || !more {
			return err
		}
	}
	return nil
}

// Read runs fn over a fresh View.
func (s *Store) Read(fn func(*View) error) error {
	v, err := s.View()
	if err != nil {
		return err
	}
	defer v.Close()
	return fn(v)
}
