package audit

import (
	"fmt"
	"os"
)

// The writer's steps. All run with Store.wmu held; only publish takes mu,
// so readers wait for nothing but the publication of a finished write.

// room makes sure the active segment can take n more bytes starting with
// record seq, starting a new segment when the active one is full. A batch
// never spans two segments: Open's recovery looks at the newest only.
func (s *Store) room(seq uint64, n int) error {
	if g := s.active; g != nil {
		used := g.written + int64(len(s.buf))
		if used+int64(n) <= s.segmentSize || used == int64(len(segmentMagic)) {
			return nil
		}
		if err := s.flush(); err != nil {
			return err
		}
		// Sealed segments are synced, so that after a power loss only the
		// newest can be torn: that is the one Open checks.
		if err := g.f.Sync(); err != nil {
			return err
		}
		dropCached(g)
	}
	g, err := createSegment(s.dir, seq)
	if err != nil {
		return err
	}
	g.refs = 1
	s.active = g
	s.created = append(s.created, g)
	return syncDir(s.dir)
}

// chain appends event after head as one frame and returns the new head.
func (s *Store) chain(head Record, event []byte, flags byte, index uint64) Record {
	r := Record{Seq: head.Seq + 1, Prev: head.Hash, Event: event}
	r.Hash = chainHashWith(s.hasher, r.Prev, r.Seq, event)
	s.frame(flags, index, &r)
	return Record{Seq: r.Seq, Hash: r.Hash}
}

// frame encodes r into the write buffer, marking its offset for seeks.
func (s *Store) frame(flags byte, index uint64, r *Record) {
	s.active.addMark(r.Seq, s.active.written+int64(len(s.buf)))
	s.buf = appendFrame(s.buf, flags, index, r)
}

// flush writes the buffered frames to the active segment in one pwrite.
// Readers do not see them until publish.
func (s *Store) flush() error {
	if len(s.buf) == 0 {
		return nil
	}
	g := s.active
	if _, err := g.f.WriteAt(s.buf, g.written); err != nil {
		return err
	}
	g.written += int64(len(s.buf))
	s.buf = s.buf[:0]
	if g.written-g.kicked >= writebackEvery {
		writeBack(g)
	}
	return nil
}

// publish makes a finished write visible to readers: the segments it
// created and what it wrote, the head, the index and the meta; it drops
// the segments in drop (a trim's), which must be the oldest.
func (s *Store) publish(head Record, index uint64, m meta, drop []*segment) {
	s.mu.Lock()
	grown := len(s.created) + 1 // the segment active before this write, and those it created
	s.segs = append(s.segs[len(drop):], s.created...)
	s.created = s.created[:0]
	for _, g := range s.segs[max(0, len(s.segs)-grown):] {
		g.size = g.written
	}
	s.head, s.index, s.meta = head, index, m
	s.mu.Unlock()
	if cap(s.buf) > 4<<20 {
		s.buf = nil // a large restore chunk need not stay allocated
	}
}

// syncActive makes every appended record durable (segments before the
// active one were synced when sealed), before a meta write relies on them.
func (s *Store) syncActive() error {
	if s.active == nil {
		return nil
	}
	if err := s.active.f.Sync(); err != nil {
		return err
	}
	return syncDir(s.dir)
}

// releaseAll drops the store's reference to segments it no longer lists.
func (s *Store) releaseAll(segs []*segment) {
	s.mu.Lock()
	for _, g := range segs {
		g.release()
	}
	s.mu.Unlock()
}

// removeSegments unlinks the files of segments a trim dropped, oldest
// first; the caller has published the meta that makes them invisible.
func (s *Store) removeSegments(segs []*segment) error {
	var err error
	for _, g := range segs {
		if rerr := os.Remove(g.path); rerr != nil && err == nil {
			err = rerr
		}
	}
	s.releaseAll(segs)
	if err != nil {
		return err
	}
	return syncDir(s.dir)
}

// checkEvent refuses an event no reader could read back.
func checkEvent(ev []byte) error {
	if frameMetaLen+recordHeader+len(ev) > maxFrame {
		return fmt.Errorf("%w: an event of %d bytes", ErrBadRecord, len(ev))
	}
	return nil
}

func eventsSize(events [][]byte) int {
	n := 0
	for _, ev := range events {
		n += frameHeaderLen + frameMetaLen + recordHeader + len(ev)
	}
	return n
}
