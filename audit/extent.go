package audit

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// Extent is what a snapshot says of the log it carries: the retained
// window, the chain's ends, and the segment files whose bytes follow it in
// the snapshot stream, whole as far as each size.
//
// Segments are written once and only appended to, so a snapshot can take
// them by reference (fsm/snapshot.go hands the View's files to the sink)
// and a node restoring one can keep the log it has when its chain already
// holds the snapshot's head: by the chain, it then holds all before it.
type Extent struct {
	First    uint64 // the oldest retained sequence number; 0: never trimmed
	Anchor   Record // Seq and Hash of the newest trimmed event; Seq 0: none
	Head     Record // Seq and Hash of the newest event; Seq 0: none
	Segments []SegmentExtent
}

// SegmentExtent is one segment file of an Extent: its first sequence number
// (its name) and how many of its bytes belong to the log.
type SegmentExtent struct {
	First uint64
	Size  int64
}

// SegmentFile is an open segment a View reads and the bytes of it the View
// sees. The file is only appended to while the View is open.
type SegmentFile struct {
	File *os.File
	Size int64
}

// Extent describes what the view sees, with its open files in the same
// order as the extent's segments. The files stay open until the view
// closes.
func (v *View) Extent() (Extent, []SegmentFile) {
	e := Extent{First: v.from, Anchor: v.anchor, Head: Record{Seq: v.head, Hash: v.headHash}}
	files := make([]SegmentFile, len(v.segs))
	for i, vs := range v.segs {
		e.Segments = append(e.Segments, SegmentExtent{First: vs.g.first, Size: vs.size})
		files[i] = SegmentFile{File: vs.g.f, Size: vs.size}
	}
	return e, files
}

// Holds reports whether the chain holds an event seq with the given hash
// (seq 0 and the zero hash: the start of every chain). A store that holds
// a snapshot's head holds every event before it, by the chain, and the
// events after it came from the same committed Raft entries as the ones
// the snapshot's node applied next: such a store need not be rewritten.
func (s *Store) Holds(seq uint64, hash [32]byte) (bool, error) {
	s.mu.Lock()
	head, anchor := s.head, s.meta.anchor
	s.mu.Unlock()
	switch {
	case seq == 0:
		return hash == [32]byte{}, nil
	case seq > head.Seq || seq < anchor.Seq:
		return false, nil
	case seq == head.Seq:
		return hash == head.Hash, nil
	case seq == anchor.Seq:
		return hash == anchor.Hash, nil
	}
	found := false
	err := s.Read(func(v *View) error {
		return v.Each(seq-1, func(r Record) (bool, error) {
			found = r.Seq == seq && r.Hash == hash
			return false, nil
		})
	})
	return found, err
}

// Restore replaces the log with the one a snapshot at Raft index index
// carries: e, followed in r by the bytes of e's segments. The bytes are
// checked as they are written, in one pass: each frame (checksums,
// sequence numbers that continue from the segment before, complete
// batches), the chain from e's anchor as verify checks it, and the end at
// e's head. Reading the segments back to check them would double an
// install's disk reads, and a new node's install is the whole log. A
// snapshot that fails a check is refused and the store must be reopened
// (the node restarts, and Raft restores again); the meta is written first,
// so even a store cut off midway never shows records without the anchor
// they chain from.
func (s *Store) Restore(index uint64, e Extent, r io.Reader) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if err := s.writable(); err != nil {
		return err
	}
	if err := s.resetLocked(); err != nil {
		return err
	}
	head, m, err := s.restoreLocked(index, e, r)
	if err != nil {
		// Leave no partial log behind. The store still refuses writes
		// (the FSM stops rather than chain new events onto nothing), and
		// a restarted node restores the snapshot again.
		for _, g := range s.created {
			_ = os.Remove(g.path)
		}
		s.releaseAll(s.created)
		s.created = s.created[:0]
		_ = syncDir(s.dir)
		return s.fail(fmt.Errorf("restore audit log: %w", err))
	}
	if n := len(s.created); n > 0 {
		s.active = s.created[n-1]
	}
	s.publish(head, index, m, nil)
	return nil
}

// chainCheck is verify's walk over a stream: records below from are
// trimmed and passed over; from there each must follow prev by number and
// hash, and match its own hash.
type chainCheck struct {
	from    uint64
	started bool
	prev    Record
}

func (c *chainCheck) next(r Record) error {
	if !c.started && r.Seq < c.from {
		return nil
	}
	c.started = true
	if err := follows(c.prev, r); err != nil {
		return err
	}
	c.prev = Record{Seq: r.Seq, Hash: r.Hash}
	return nil
}

// follows checks that r is the event after prev in a snapshot's chain,
// by verify's rule (link): a node takes no log it would report as
// tampered with.
func follows(prev, r Record) error {
	if v := link(prev, r); v != nil {
		return fmt.Errorf("%w: %v", ErrBadRecord, v)
	}
	return nil
}

func (s *Store) restoreLocked(index uint64, e Extent, r io.Reader) (Record, meta, error) {
	m := meta{first: e.First, anchor: Record{Seq: e.Anchor.Seq, Hash: e.Anchor.Hash}}
	if err := writeMeta(s.dir, m); err != nil {
		return Record{}, m, err
	}
	// A node takes no log it would report as tampered with.
	chain := &chainCheck{from: max(1, m.first), prev: m.anchor}
	head := m.anchor
	for i, se := range e.Segments {
		if i > 0 && se.First != head.Seq+1 || i == 0 && se.First > head.Seq+1 {
			return head, m, fmt.Errorf("%w: segment %d follows record %d", ErrBadRecord, se.First, head.Seq)
		}
		g, last, err := s.restoreSegment(se, r, chain)
		if g != nil {
			g.refs = 1
			s.created = append(s.created, g)
		}
		if err != nil {
			return head, m, err
		}
		head = last
	}
	if head.Seq != e.Head.Seq || head.Hash != e.Head.Hash {
		return head, m, fmt.Errorf("%w: the segments end at record %d, the snapshot's head is %d", ErrBadRecord, head.Seq, e.Head.Seq)
	}
	if err := syncDir(s.dir); err != nil {
		return head, m, err
	}
	m.index, m.indexHead = index, head.Seq
	return head, m, writeMeta(s.dir, m)
}

// restoreSegment writes one segment of a snapshot from r, checking its
// frames and chain as they pass, syncs it, and returns it with its last
// record. Only complete batches are accepted: a snapshot never references
// a write in progress.
func (s *Store) restoreSegment(se SegmentExtent, r io.Reader, chain *chainCheck) (*segment, Record, error) {
	if se.Size < int64(len(segmentMagic)) || se.First == 0 {
		return nil, Record{}, fmt.Errorf("%w: segment %d of %d bytes", ErrBadRecord, se.First, se.Size)
	}
	path := filepath.Join(s.dir, segmentName(se.First))
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, Record{}, err
	}
	g := &segment{first: se.First, path: path, f: f, size: se.Size, written: se.Size, kicked: se.Size, dropped: se.Size, indexed: true}
	fw := &firstErrWriter{w: f}
	w := bufio.NewWriterSize(fw, 1<<20)
	hdr := make([]byte, len(segmentMagic))
	if _, err := io.ReadFull(r, hdr); err != nil || string(hdr) != segmentMagic {
		return g, Record{}, fmt.Errorf("%w: segment %d has no header", ErrBadRecord, se.First)
	}
	w.Write(hdr) // a bufio.Writer's error sticks: Flush reports it
	fr := newFrameReader(io.TeeReader(io.LimitReader(r, se.Size-int64(len(segmentMagic))), w), path, int64(len(segmentMagic)), se.Size)
	var last Record
	end := int64(len(segmentMagic))
	for {
		at := fr.off
		fm, _, err := fr.next()
		if fw.err != nil {
			// The tee's write failed (a full disk): the reader then sees a
			// cut frame, which must not pass for a short snapshot.
			return g, Record{}, fmt.Errorf("restore audit segment %d: %w", se.First, fw.err)
		}
		if err == io.EOF {
			break
		}
		if errors.Is(err, errTornFrame) {
			return g, Record{}, fmt.Errorf("%w: snapshot ends inside segment %d at offset %d", ErrBadRecord, se.First, at)
		}
		if err != nil {
			return g, Record{}, err
		}
		rec := fm.rec
		switch {
		case at == int64(len(segmentMagic)) && rec.Seq != se.First:
			return g, Record{}, fmt.Errorf("%w: segment %d starts with record %d", ErrBadRecord, se.First, rec.Seq)
		case at > int64(len(segmentMagic)) && rec.Seq != last.Seq+1:
			return g, Record{}, fmt.Errorf("%w: segment %d skips or repeats a record", ErrBadRecord, se.First)
		}
		if err := chain.next(rec); err != nil {
			return g, Record{}, err
		}
		last = Record{Seq: rec.Seq, Hash: rec.Hash}
		if markDue(g.marks, at) {
			g.marks = append(g.marks, mark{rec.Seq, at})
		}
		if fm.flags&flagBatchEnd != 0 {
			end = fr.off
		}
	}
	if end != se.Size || last.Seq == 0 {
		return g, Record{}, fmt.Errorf("%w: segment %d does not end with a complete batch", ErrBadRecord, se.First)
	}
	if err := w.Flush(); err != nil {
		return g, Record{}, err
	}
	if err := f.Sync(); err != nil {
		return g, Record{}, err
	}
	dropCached(g)
	return g, last, nil
}

// Extend brings a store that is behind a snapshot up to it by appending
// what follows its head, instead of replacing it: a follower that missed
// more entries than the leader's log keeps receives a snapshot install,
// and rewriting gigabytes it already holds to add a few batches would
// make every such catch-up cost as much as a new node. It applies when
// the store's head lies within the snapshot's chain (from its anchor to
// its head); Extend reports false, having read nothing, otherwise.
//
// Records up to the head are read and passed over; the head itself must
// be in the snapshot with the same hash, or the two chains differ: the
// store then refuses writes (ErrDiverged) rather than overwrite a log
// that disagrees with the cluster's. The records after it are checked
// link by link and appended as they are framed (their batch ends and Raft
// indexes), and the snapshot's window and index are taken last.
func (s *Store) Extend(index uint64, e Extent, r io.Reader) (bool, error) {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if err := s.writable(); err != nil {
		return false, err
	}
	head := s.head
	if head.Seq == 0 || head.Seq < e.Anchor.Seq || head.Seq >= e.Head.Seq || s.active == nil {
		return false, nil
	}
	if err := s.extendLocked(index, e, r); err != nil {
		return true, s.fail(fmt.Errorf("extend audit log: %w", err))
	}
	return true, nil
}

func (s *Store) extendLocked(index uint64, e Extent, r io.Reader) error {
	local := s.head
	head := Record{Seq: e.Anchor.Seq, Hash: e.Anchor.Hash}
	if local.Seq == head.Seq && local.Hash != head.Hash {
		return fmt.Errorf("at event %d: %w", local.Seq, ErrDiverged)
	}
	// A batch is appended whole, with one room check for all of it, as
	// AppendBatches does: segments then roll where they rolled on the
	// snapshot's node, and the two nodes' snapshots are the same bytes.
	var batch []frame
	var batchSize int
	appendBatch := func() error {
		if err := s.room(batch[0].rec.Seq, batchSize); err != nil {
			return err
		}
		for i := range batch {
			s.frame(batch[i].flags, batch[i].index, &batch[i].rec)
		}
		batch, batchSize = batch[:0], 0
		if len(s.buf) >= 4<<20 {
			return s.flush()
		}
		return nil
	}
	for _, se := range e.Segments {
		if se.Size < int64(len(segmentMagic)) {
			return fmt.Errorf("%w: segment %d of %d bytes", ErrBadRecord, se.First, se.Size)
		}
		hdr := make([]byte, len(segmentMagic))
		if _, err := io.ReadFull(r, hdr); err != nil || string(hdr) != segmentMagic {
			return fmt.Errorf("%w: segment %d has no header", ErrBadRecord, se.First)
		}
		name := segmentName(se.First)
		fr := newFrameReader(io.LimitReader(r, se.Size-int64(len(segmentMagic))), name, int64(len(segmentMagic)), se.Size)
		for {
			f, size, err := fr.next()
			if err == io.EOF {
				break
			}
			if err != nil {
				return err
			}
			rec := f.rec
			switch {
			case rec.Seq < e.First || rec.Seq < local.Seq:
				// trimmed in the snapshot, or held here already
			case rec.Seq == local.Seq:
				if rec.Hash != local.Hash {
					return fmt.Errorf("at event %d: %w", rec.Seq, ErrDiverged)
				}
			default:
				if err := follows(head, rec); err != nil {
					return err
				}
				f.rec.Event = bytes.Clone(rec.Event) // the reader reuses its buffer
				batch, batchSize = append(batch, f), batchSize+int(size)
				if f.flags&flagBatchEnd != 0 {
					if err := appendBatch(); err != nil {
						return err
					}
				}
			}
			if rec.Seq >= e.First {
				head = Record{Seq: rec.Seq, Hash: rec.Hash}
			}
		}
		if fr.off != se.Size {
			return fmt.Errorf("%w: segment %d ends at %d of %d bytes", ErrBadRecord, se.First, fr.off, se.Size)
		}
	}
	if head.Seq != e.Head.Seq || head.Hash != e.Head.Hash || len(batch) > 0 {
		return fmt.Errorf("%w: the segments end at record %d, the snapshot's head is %d", ErrBadRecord, head.Seq, e.Head.Seq)
	}
	if err := s.flush(); err != nil {
		return err
	}
	// The snapshot's window, as a trim applies it, and its index.
	m := s.meta
	var drop []*segment
	if e.First > m.first {
		m.first, m.anchor = e.First, Record{Seq: e.Anchor.Seq, Hash: e.Anchor.Hash}
		drop = s.below(m.first)
	}
	m.index, m.indexHead = max(index, s.index), head.Seq
	if err := s.syncActive(); err != nil {
		return err
	}
	if err := writeMeta(s.dir, m); err != nil {
		return err
	}
	s.publish(head, m.index, m, drop)
	return s.removeSegments(drop)
}

// firstErrWriter keeps the first error its writer returned.
type firstErrWriter struct {
	w   io.Writer
	err error
}

func (e *firstErrWriter) Write(p []byte) (int, error) {
	n, err := e.w.Write(p)
	if err != nil && e.err == nil {
		e.err = err
	}
	return n, err
}
