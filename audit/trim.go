package audit

// Trim drops every event before seq `before` (the retention window's start)
// and appends the trim's own event after the newest. The newest dropped
// event becomes the chain's anchor, so the retained log still verifies
// from its first event. Replayed trims are skipped like batches.
//
// Whole segments below the window are deleted; the dropped records at the
// start of the oldest kept segment stay on disk, invisible, until a later
// trim deletes their segment. The order on disk makes every crash safe:
// an fsync, the meta (new first and anchor, fsynced), the trim's event,
// then the unlinks, which Open finishes if the node stopped before them.
func (s *Store) Trim(index, before uint64, event []byte) (uint64, error) {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if err := s.writable(); err != nil {
		return 0, err
	}
	if index != 0 && index <= s.index {
		return 0, nil
	}
	if err := checkEvent(event); err != nil {
		return 0, err
	}
	head, m := s.head, s.meta
	if first := s.First(); first != 0 {
		if newFirst := min(before, head.Seq+1); newFirst > first {
			anchor, err := s.recordBefore(newFirst)
			if err != nil {
				return 0, err
			}
			m.anchor, m.first = anchor, newFirst
		}
	}
	// The meta goes first: a node that stops before the trim's event is
	// written replays the trim, finds the window already moved and adds
	// the event. The other order left, after a crash between the two, a
	// trim recorded in the chain (so never replayed) whose window never
	// moved. The segments are synced first, so the anchor the meta names
	// survives a power loss.
	var drop []*segment
	if !m.equal(s.meta) {
		if err := s.syncActive(); err != nil {
			return 0, s.fail(err)
		}
		if err := writeMeta(s.dir, m); err != nil {
			return 0, s.fail(err)
		}
		drop = s.below(m.first)
	}
	if err := s.room(head.Seq+1, eventsSize([][]byte{event})); err != nil {
		return 0, s.fail(err)
	}
	head = s.chain(head, event, flagBatchEnd, index)
	if err := s.flush(); err != nil {
		return 0, s.fail(err)
	}
	s.publish(head, max(index, s.index), m, drop)
	if err := s.removeSegments(drop); err != nil {
		// The meta already hides them, and Open removes them.
		return 0, s.fail(err)
	}
	return head.Seq, nil
}

// SizeWindow is where a log kept to at most maxBytes of segments starts:
// the first event of the oldest segment that, with every newer one, holds
// at most maxBytes. The newest segment always stays, whatever its size, so
// the log keeps between maxBytes less one segment and maxBytes (more while
// the newest outgrows it). Zero when the whole log fits.
func (s *Store) SizeWindow(maxBytes int64) uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	var total int64
	for i := len(s.segs) - 1; i >= 0; i-- {
		total += s.segs[i].size
		if total > maxBytes && i+1 < len(s.segs) {
			return s.segs[i+1].first
		}
	}
	return 0
}

// recordBefore returns the Seq and Hash of the record just before seq
// first: the anchor of a log that starts at first.
func (s *Store) recordBefore(first uint64) (Record, error) {
	if first-1 == s.head.Seq {
		return s.head, nil
	}
	// Zero hash if the record is missing: the log was broken there
	// already, and verify will say so at the first retained event.
	anchor := Record{Seq: first - 1}
	err := s.Read(func(v *View) error {
		return v.Each(first-2, func(r Record) (bool, error) {
			if r.Seq == first-1 {
				anchor.Hash = r.Hash
			}
			return false, nil
		})
	})
	return anchor, err
}

// below is the oldest segments that hold only records before first: those
// a window starting at first drops. The newest segment always stays.
func (s *Store) below(first uint64) []*segment {
	var drop []*segment
	for i := 0; i+1 < len(s.segs) && s.segs[i+1].first <= first; i++ {
		drop = s.segs[:i+1]
	}
	return drop
}

// Bytes is the size of the events the store holds, over all its segments.
func (s *Store) Bytes() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	var total int64
	for _, g := range s.segs {
		total += g.size
	}
	return total
}
