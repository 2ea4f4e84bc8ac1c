package audit

import (
	"bytes"
	"errors"
	"io"
	"sort"
)

// View is a consistent read of the store, open until Close: the segments,
// their published sizes, the window's start and the anchor as they were
// when it opened. Appends go on meanwhile (a view never reads past the
// sizes it captured), and trims and resets unlink files a view still
// reads without disturbing it (it holds them open).
type View struct {
	s        *Store
	segs     []viewSegment
	from     uint64 // records below are trimmed: never shown
	head     uint64
	headHash [32]byte
	anchor   Record
}

type viewSegment struct {
	g    *segment
	size int64
}

// View opens a read; snapshots stream from it while Apply goes on.
func (s *Store) View() (*View, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, ErrClosed
	}
	v := &View{s: s, from: s.meta.first, head: s.head.Seq, headHash: s.head.Hash, anchor: s.meta.anchor, segs: make([]viewSegment, len(s.segs))}
	for i, g := range s.segs {
		g.refs++
		v.segs[i] = viewSegment{g, g.size}
	}
	return v, nil
}

// Close ends the read.
func (v *View) Close() {
	v.s.mu.Lock()
	defer v.s.mu.Unlock()
	for _, vs := range v.segs {
		vs.g.release()
	}
	v.segs = nil
}

// Anchor is the last trimmed event (the chain's starting point), if any.
func (v *View) Anchor() (Record, bool) {
	return v.anchor, v.anchor.Seq > 0
}

// Each calls fn for every record with Seq > after, in order, until fn
// returns false or an error. It streams: one record in memory at a time.
//
// Records are yielded in the order they are stored, not sorted: only the
// records before the first wanted one are skipped by number, so that
// Verify sees a reordered or forged sequence number as it is.
func (v *View) Each(after uint64, fn func(Record) (bool, error)) error {
	start := max(after+1, v.from)
	if !v.s.readOnly && start > v.head {
		return nil // a read-only store may hold a torn batch past its head: read on
	}
	// The last segment whose first record is at or before start.
	i := max(0, sort.Search(len(v.segs), func(i int) bool { return v.segs[i].g.first > start })-1)
	started := false
	for ; i < len(v.segs); i++ {
		vs := v.segs[i]
		off := int64(len(segmentMagic))
		if !started && start > vs.g.first {
			var err error
			if off, err = vs.g.seek(start, vs.size); err != nil {
				return err
			}
		}
		fr := newFrameReader(io.NewSectionReader(vs.g.f, off, vs.size-off), vs.g.path, off, vs.size)
		for {
			at := fr.off
			f, _, err := fr.next()
			if err == io.EOF {
				break
			}
			if errors.Is(err, errTornFrame) {
				if i == len(v.segs)-1 {
					return nil // where a stopped node's log tears (read-only stores only)
				}
				// A segment before the newest is complete (it was synced when
				// sealed): if it ends inside a record, records were cut out.
				return &CorruptError{Path: vs.g.path, Offset: at, Reason: "segment ends inside a record"}
			}
			if err != nil {
				return err
			}
			if !started && f.rec.Seq < start {
				continue
			}
			started = true
			r := f.rec
			r.Event = bytes.Clone(r.Event)
			if more, err := fn(r); err != nil || !more {
				return err
			}
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
