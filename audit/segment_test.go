package audit

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

func reopen(t *testing.T, dir string) *Store {
	t.Helper()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// appendIndexed appends batches of `per` events at Raft indexes from..to.
func appendIndexed(t *testing.T, s *Store, from, to uint64, per int) {
	t.Helper()
	for i := from; i <= to; i++ {
		var evs [][]byte
		for j := range per {
			evs = append(evs, []byte(fmt.Sprintf(`{"eventName":"Encrypt","eventID":"i%d-%d"}`, i, j)))
		}
		if _, err := s.Append(i, evs); err != nil {
			t.Fatal(err)
		}
	}
}

func seqs(t *testing.T, s *Store, after uint64) []uint64 {
	t.Helper()
	var out []uint64
	err := s.Export(Filter{After: after}, 0, func(r Record) error { out = append(out, r.Seq); return nil })
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func mustVerify(t *testing.T, s *Store, want uint64) {
	t.Helper()
	if n, viol, err := s.Verify(); err != nil || viol != nil || n != want {
		t.Fatalf("verify: %d events (want %d), %v %v", n, want, viol, err)
	}
}

// TestTornTailOnReopen: whatever a crash leaves after the last complete
// batch (a frame cut short, zeros, garbage, a frame whose checksum fails,
// the first records of a batch) is cut off on open; the index goes back to
// that batch, so Raft's replay appends the lost batch again, once.
func TestTornTailOnReopen(t *testing.T) {
	cases := map[string]func(b []byte) []byte{
		"cut in the last frame":   func(b []byte) []byte { return b[:len(b)-5] },
		"cut in a frame's header": func(b []byte) []byte { return b[:len(b)-lastFrameLen(t, b)+3] },
		"half a batch": func(b []byte) []byte {
			return b[:len(b)-lastFrameLen(t, b)] // records 1 and 2 of batch 4 stay, without its last
		},
		"zeros":    func(b []byte) []byte { return append(b[:len(b)-lastFrameLen(t, b)], make([]byte, 4096)...) },
		"garbage":  func(b []byte) []byte { return append(b[:len(b)-lastFrameLen(t, b)], "\x00\x00\x01\x00garbage"...) },
		"checksum": func(b []byte) []byte { b[len(b)-3] ^= 0xff; return b },
	}
	for name, cut := range cases {
		t.Run(name, func(t *testing.T) {
			s, dir := openStore(t)
			appendIndexed(t, s, 1, 4, 3) // 12 events; batch 4 holds 10..12
			s.Close()
			path := segmentPaths(t, dir)[0]
			b, _ := os.ReadFile(path)
			if err := os.WriteFile(path, cut(b), 0o600); err != nil {
				t.Fatal(err)
			}
			s = reopen(t, dir)
			if seq, _ := s.Head(); seq != 9 || s.index != 3 {
				t.Fatalf("after reopen: head %d index %d, want 9 and 3", seq, s.index)
			}
			mustVerify(t, s, 9)
			appendIndexed(t, s, 1, 5, 3) // the replay: 1..3 skipped, 4 and 5 appended
			mustVerify(t, s, 15)
			if got := seqs(t, s, 0); len(got) != 15 || got[14] != 15 {
				t.Fatalf("records %v", got)
			}
		})
	}
}

func lastFrameLen(t *testing.T, b []byte) int {
	fs := readFramesBytes(t, b)
	last := fs[len(fs)-1]
	return frameHeaderLen + frameMetaLen + recordHeader + len(last.rec.Event)
}

func readFramesBytes(t *testing.T, b []byte) []storedFrame {
	path := t.TempDir() + "/x.seg"
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return readFrames(t, path)
}

// TestTornTailReadOnly: offline verify of a crashed node changes nothing
// on disk, and reads up to where the log tears.
func TestTornTailReadOnly(t *testing.T) {
	s, dir := openStore(t)
	appendIndexed(t, s, 1, 4, 3)
	s.Close()
	path := segmentPaths(t, dir)[0]
	b, _ := os.ReadFile(path)
	b = b[:len(b)-5]
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	ro, err := OpenReadOnly(dir)
	if err != nil {
		t.Fatal(err)
	}
	mustVerify(t, ro, 11) // the torn batch's first two records are there to check
	if _, err := ro.Append(9, [][]byte{[]byte(`{}`)}); err != ErrReadOnly {
		t.Fatalf("append to a read-only store: %v", err)
	}
	ro.Close()
	if after, _ := os.ReadFile(path); !bytes.Equal(after, b) {
		t.Fatal("read-only open changed the segment")
	}
}

// TestTrimDeletesWholeSegments: segments wholly below the window are
// deleted; the dropped records at the start of the kept one stay on disk
// but no reader sees them; all of it survives a reopen.
func TestTrimDeletesWholeSegments(t *testing.T) {
	s, dir := openStore(t)
	s.segmentSize = 1024
	appendIndexed(t, s, 1, 30, 3) // 90 events, 6 a segment
	before := len(segmentPaths(t, dir))
	const cut = 44 // inside a segment
	seq, err := s.Trim(31, cut, []byte(`{"eventName":"AuditTrim"}`))
	if err != nil || seq != 91 {
		t.Fatalf("trim: %d %v", seq, err)
	}
	paths := segmentPaths(t, dir)
	oldest := readFrames(t, paths[0])
	if oldest[0].rec.Seq >= cut || oldest[len(oldest)-1].rec.Seq < cut {
		t.Fatalf("oldest kept segment holds %d..%d, want it to straddle %d", oldest[0].rec.Seq, oldest[len(oldest)-1].rec.Seq, cut)
	}
	if len(paths) >= before {
		t.Fatalf("%d segments before the trim, %d after", before, len(paths))
	}
	check := func(s *Store) {
		t.Helper()
		if s.First() != cut {
			t.Fatalf("first %d, want %d", s.First(), cut)
		}
		if got := seqs(t, s, 0); got[0] != cut || len(got) != 91-cut+1 {
			t.Fatalf("export from %d, %d records", got[0], len(got))
		}
		if got := seqs(t, s, 10); got[0] != cut {
			t.Fatalf("export after 10 starts at %d", got[0])
		}
		if got := seqs(t, s, 50); got[0] != 51 {
			t.Fatalf("export after 50 starts at %d", got[0])
		}
		mustVerify(t, s, 91-cut+1)
		_ = s.Read(func(v *View) error {
			if a, ok := v.Anchor(); !ok || a.Seq != cut-1 {
				t.Fatalf("anchor %v %v", a.Seq, ok)
			}
			return nil
		})
	}
	check(s)
	s.Close()
	s = reopen(t, dir)
	check(s)
	if seq, _ := s.Head(); seq != 91 || s.index != 31 {
		t.Fatalf("after reopen: head %d index %d", seq, s.index)
	}
	// The trim is replayed after a restart: skipped.
	if seq, err := s.Trim(31, cut, []byte(`{}`)); seq != 0 || err != nil {
		t.Fatalf("replayed trim: %d %v", seq, err)
	}
	// A trim at the head drops every segment but the newest.
	if _, err := s.Trim(32, 1000, []byte(`{"eventName":"AuditTrim"}`)); err != nil {
		t.Fatal(err)
	}
	if got := seqs(t, s, 0); len(got) != 1 || got[0] != 92 || s.First() != 92 {
		t.Fatalf("after trimming all: %v first %d", got, s.First())
	}
	mustVerify(t, s, 1)
}

// TestSizeWindow: a size bound keeps the newest whole segments that fit
// in it, and at least the newest.
func TestSizeWindow(t *testing.T) {
	s, dir := openStore(t)
	s.SetSegmentSize(1024)
	appendIndexed(t, s, 1, 30, 3) // 90 events, 6 a segment
	var sizes []int64
	var firsts []uint64
	for _, p := range segmentPaths(t, dir) {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		sizes = append(sizes, fi.Size())
		firsts = append(firsts, readFrames(t, p)[0].rec.Seq)
	}
	n := len(sizes)
	if n < 4 {
		t.Fatalf("%d segments, want several", n)
	}
	var all int64
	for _, z := range sizes {
		all += z
	}
	newest2 := sizes[n-1] + sizes[n-2]
	for _, tc := range []struct {
		max  int64
		want uint64
	}{
		{all, 0},                   // everything fits
		{all - 1, firsts[1]},       // the oldest goes
		{newest2, firsts[n-2]},     // exactly the two newest
		{newest2 - 1, firsts[n-1]}, // only the newest fits
		{1, firsts[n-1]},           // the newest stays whatever its size
	} {
		if got := s.SizeWindow(tc.max); got != tc.want {
			t.Errorf("SizeWindow(%d) = %d, want %d (segments %v from %v)", tc.max, got, tc.want, sizes, firsts)
		}
	}
}

// TestTrimInterrupted: a node stopped between the trim's meta and the
// unlinks; Open deletes the segments the meta put below the window.
func TestTrimInterrupted(t *testing.T) {
	s, dir := openStore(t)
	s.segmentSize = 1024
	appendIndexed(t, s, 1, 30, 3)
	oldest := segmentPaths(t, dir)[0]
	saved, _ := os.ReadFile(oldest)
	if _, err := s.Trim(31, 60, []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if err := os.WriteFile(oldest, saved, 0o600); err != nil {
		t.Fatal(err)
	}
	s = reopen(t, dir)
	if _, err := os.Stat(oldest); !os.IsNotExist(err) {
		t.Fatalf("segment below the window still there: %v", err)
	}
	mustVerify(t, s, 91-60+1)
}

// TestTrimCutBeforeItsEvent: a node stopped after the trim's meta but
// before its event reached the disk replays the trim: the window is
// where the meta put it, and the event is added once.
func TestTrimCutBeforeItsEvent(t *testing.T) {
	s, dir := openStore(t)
	s.segmentSize = 1024
	appendIndexed(t, s, 1, 30, 3)
	if _, err := s.Trim(31, 60, []byte(`{"eventName":"AuditTrim"}`)); err != nil {
		t.Fatal(err)
	}
	s.Close()
	tamper(t, dir, func(fs []storedFrame) []storedFrame { return fs[:len(fs)-1] })
	s = reopen(t, dir)
	if h, _ := s.Head(); h != 90 || s.First() != 60 || s.index != 30 {
		t.Fatalf("after the cut: head %d first %d index %d", h, s.First(), s.index)
	}
	if seq, err := s.Trim(31, 60, []byte(`{"eventName":"AuditTrim"}`)); err != nil || seq != 91 {
		t.Fatalf("replayed trim: event %d, %v", seq, err)
	}
	mustVerify(t, s, 91-60+1)
}

// TestReopenKeepsState: head, index, first and anchor survive a reopen,
// after appends, a trim, and a restore from the first store's extent.
func TestReopenKeepsState(t *testing.T) {
	src, _ := openStore(t)
	src.segmentSize = 700
	appendIndexed(t, src, 1, 20, 2)
	if _, err := src.Trim(21, 15, []byte(`{"eventName":"AuditTrim"}`)); err != nil {
		t.Fatal(err)
	}
	var recs []Record
	_ = src.Read(func(v *View) error {
		return v.Each(0, func(r Record) (bool, error) { recs = append(recs, r); return true, nil })
	})

	dst, dir := openStore(t)
	dst.segmentSize = 700
	appendIndexed(t, dst, 1, 3, 1) // what the restore replaces
	if err := restoreFrom(src, dst, 21); err != nil {
		t.Fatal(err)
	}
	want := func(s *Store) {
		t.Helper()
		h1, hash1 := src.Head()
		h2, hash2 := s.Head()
		if h1 != h2 || hash1 != hash2 || s.First() != src.First() || s.index != 21 {
			t.Fatalf("head %d/%d first %d/%d index %d", h2, h1, s.First(), src.First(), s.index)
		}
		mustVerify(t, s, uint64(len(recs)))
	}
	want(dst)
	dst.Close()
	dst = reopen(t, dir)
	want(dst)
	appendIndexed(t, dst, 20, 22, 1) // replayed 20, 21 skipped; 22 appended
	if seq, _ := dst.Head(); seq != 42 || dst.index != 22 {
		t.Fatalf("after the replay: head %d index %d", seq, dst.index)
	}
}

// TestViewStableUnderAppends: a view reads what was there when it opened,
// while appends rotate segments and a trim and a reset unlink files
// under it.
func TestViewStableUnderAppends(t *testing.T) {
	s, _ := openStore(t)
	s.segmentSize = 2048
	appendIndexed(t, s, 1, 50, 4)
	v, err := s.View()
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := uint64(51); i <= 150; i++ {
			if _, err := s.Append(i, [][]byte{[]byte(fmt.Sprintf(`{"n":%d}`, i))}); err != nil {
				t.Error(err)
				return
			}
			if i == 100 {
				if _, err := s.Trim(0, 120, []byte(`{}`)); err != nil {
					t.Error(err)
				}
			}
		}
		if err := s.Restore(150, Extent{}, bytes.NewReader(nil)); err != nil { // empties the store first
			t.Error(err)
		}
	}()
	for round := 0; round < 5; round++ {
		var n, last uint64
		err := v.Each(0, func(r Record) (bool, error) {
			if r.Seq != last+1 {
				return false, fmt.Errorf("record %d after %d", r.Seq, last)
			}
			n, last = n+1, r.Seq
			return true, nil
		})
		if err != nil || n != 200 {
			t.Fatalf("round %d: %d records, %v", round, n, err)
		}
	}
	wg.Wait()
	var n int
	_ = v.Each(190, func(Record) (bool, error) { n++; return true, nil })
	if n != 10 {
		t.Fatalf("a seek in the view after the reset: %d records", n)
	}
}

// TestOpenHalfCreatedSegment: a node stopped right after creating a
// segment (no header, or a header of zeros, or a header and half a batch)
// reopens at the previous segment's last batch.
func TestOpenHalfCreatedSegment(t *testing.T) {
	for name, content := range map[string][]byte{
		"empty":      nil,
		"zeros":      make([]byte, 4096),
		"header":     []byte(segmentMagic),
		"half batch": append([]byte(segmentMagic), 0, 0, 0, 200, 1, 2, 3),
	} {
		t.Run(name, func(t *testing.T) {
			s, dir := openStore(t)
			appendIndexed(t, s, 1, 3, 2)
			s.Close()
			extra := dir + "/" + segmentName(7)
			if err := os.WriteFile(extra, content, 0o600); err != nil {
				t.Fatal(err)
			}
			ro, err := OpenReadOnly(dir)
			if err != nil {
				t.Fatal(err)
			}
			mustVerify(t, ro, 6)
			ro.Close()
			s = reopen(t, dir)
			if seq, _ := s.Head(); seq != 6 || s.index != 3 {
				t.Fatalf("head %d index %d", seq, s.index)
			}
			if _, err := os.Stat(extra); !os.IsNotExist(err) {
				t.Fatalf("half-created segment left: %v", err)
			}
			appendIndexed(t, s, 4, 4, 2)
			mustVerify(t, s, 8)
		})
	}
}

// TestOpenSetsAsideCorruptStore: files this version did not write as they
// are (a sealed segment's header, the meta) make Open move the directory
// aside and start empty, for Raft to refill; OpenReadOnly just refuses.
func TestOpenSetsAsideCorruptStore(t *testing.T) {
	for _, victim := range []string{segmentName(1), metaName} {
		s, dir := openStore(t)
		s.segmentSize = 512
		appendIndexed(t, s, 1, 10, 3)
		if _, err := s.Trim(11, 2, []byte(`{}`)); err != nil { // writes the meta, keeps segment 1
			t.Fatal(err)
		}
		s.Close()
		path := dir + "/" + victim
		b, _ := os.ReadFile(path)
		b[2] ^= 0xff
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := OpenReadOnly(dir); err == nil {
			t.Fatalf("%s damaged: read-only open succeeded", victim)
		}
		s = reopen(t, dir)
		if seq, _ := s.Head(); seq != 0 || s.index != 0 {
			t.Fatalf("%s damaged: head %d index %d after reopen", victim, seq, s.index)
		}
		aside, _ := filepath.Glob(dir + ".corrupt-*")
		if len(aside) != 1 {
			t.Fatalf("%s damaged: set aside as %v", victim, aside)
		}
	}
}

// TestWritebackKeepsData: the page-cache hints (writeback.go) that run
// every writebackEvery bytes lose nothing, in the active segment and in
// sealed ones.
func TestWritebackKeepsData(t *testing.T) {
	s, dir := openStore(t)
	s.segmentSize = 3 * writebackEvery
	ev := []byte(fmt.Sprintf(`{"pad":"%01000d"}`, 0))
	batch := make([][]byte, 64)
	for i := range batch {
		batch[i] = ev
	}
	n := 0
	for i := uint64(1); n*len(ev) < 4*writebackEvery; i++ {
		if _, err := s.Append(i, batch); err != nil {
			t.Fatal(err)
		}
		n += len(batch)
	}
	if len(segmentPaths(t, dir)) < 2 {
		t.Fatal("no sealed segment")
	}
	mustVerify(t, s, uint64(n))
	s.Close()
	mustVerify(t, reopen(t, dir), uint64(n))
}
