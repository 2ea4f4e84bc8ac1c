package audit

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
)

// extentStream is what a snapshot of src carries: its extent and the bytes
// of its segments, as far as the view saw them.
func extentStream(t *testing.T, src *Store) (Extent, []byte) {
	t.Helper()
	v, err := src.View()
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	e, files := v.Extent()
	var buf bytes.Buffer
	for _, f := range files {
		if _, err := io.Copy(&buf, io.NewSectionReader(f.File, 0, f.Size)); err != nil {
			t.Fatal(err)
		}
	}
	return e, buf.Bytes()
}

// restoreFrom restores dst from a snapshot of src taken at Raft index index.
func restoreFrom(src, dst *Store, index uint64) error {
	v, err := src.View()
	if err != nil {
		return err
	}
	defer v.Close()
	e, files := v.Extent()
	readers := make([]io.Reader, len(files))
	for i, f := range files {
		readers[i] = io.NewSectionReader(f.File, 0, f.Size)
	}
	return dst.Restore(index, e, io.MultiReader(readers...))
}

// TestRestoreKeepsTheChain: a restored store has the source's chain, window
// and anchor, its segments byte for byte, and takes appends after it.
func TestRestoreKeepsTheChain(t *testing.T) {
	src, _ := openStore(t)
	src.segmentSize = 900
	appendIndexed(t, src, 1, 30, 3)
	if _, err := src.Trim(31, 40, []byte(`{"eventName":"AuditTrim"}`)); err != nil {
		t.Fatal(err)
	}
	e, stream := extentStream(t, src)
	if len(e.Segments) < 3 || e.Anchor.Seq != 39 || e.First != 40 {
		t.Fatalf("extent: %d segments, anchor %d, first %d", len(e.Segments), e.Anchor.Seq, e.First)
	}
	dst, dir := openStore(t)
	appendIndexed(t, dst, 1, 5, 2)
	if err := dst.Restore(31, e, bytes.NewReader(stream)); err != nil {
		t.Fatal(err)
	}
	if _, got := extentStream(t, dst); !bytes.Equal(got, stream) {
		t.Fatal("the restored segments differ from the snapshot's")
	}
	mustVerify(t, dst, 91-40+1)
	dst.Close()
	dst = reopen(t, dir)
	if h, _ := dst.Head(); h != 91 || dst.First() != 40 || dst.index != 31 {
		t.Fatalf("after reopen: head %d first %d index %d", h, dst.First(), dst.index)
	}
	appendIndexed(t, dst, 31, 32, 1) // 31 is the snapshot's: skipped
	mustVerify(t, dst, 92-40+1)
}

// TestRestoreRefusesABadStream: a stream cut short, a changed byte, a
// head that is not where the segments end, or a hole between segments is
// refused, and the store writes nothing more until it is reopened.
func TestRestoreRefusesABadStream(t *testing.T) {
	src, _ := openStore(t)
	src.segmentSize = 900
	appendIndexed(t, src, 1, 20, 2)
	e, stream := extentStream(t, src)
	cases := map[string]func() (Extent, []byte){
		"cut short": func() (Extent, []byte) { return e, stream[:len(stream)-10] },
		"a changed byte": func() (Extent, []byte) {
			b := bytes.Clone(stream)
			b[len(b)/2] ^= 1
			return e, b
		},
		"another head": func() (Extent, []byte) {
			e2 := e
			e2.Head.Hash[0] ^= 1
			return e2, stream
		},
		"another anchor": func() (Extent, []byte) {
			e2 := e
			e2.Anchor.Hash[0] ^= 1
			return e2, stream
		},
		"a missing segment": func() (Extent, []byte) {
			e2 := e
			e2.Segments = append([]SegmentExtent{e.Segments[0]}, e.Segments[2:]...)
			n := e.Segments[1].Size
			return e2, append(bytes.Clone(stream[:e.Segments[0].Size]), stream[e.Segments[0].Size+n:]...)
		},
		"a forged event with valid checksums": func() (Extent, []byte) {
			n := e.Segments[0].Size
			fs := readFramesBytes(t, stream[:n])
			fs[2].rec.Event = []byte(`{"eventName":"Forged"}`)
			b := []byte(segmentMagic)
			for _, f := range fs {
				b = appendFrame(b, f.flags, f.index, &f.rec)
			}
			e2 := e
			e2.Segments = slices.Clone(e.Segments)
			e2.Segments[0].Size = int64(len(b))
			return e2, append(b, stream[n:]...)
		},
		"a segment of another name": func() (Extent, []byte) {
			e2 := e
			e2.Segments = slices.Clone(e.Segments)
			e2.Segments[0].First++
			return e2, stream
		},
	}
	for name, mk := range cases {
		t.Run(name, func(t *testing.T) {
			dst, dir := openStore(t)
			e2, b := mk()
			err := dst.Restore(20, e2, bytes.NewReader(b))
			if !errors.Is(err, ErrBadRecord) {
				t.Fatalf("restore: %v, want ErrBadRecord", err)
			}
			if _, err := dst.Append(21, [][]byte{[]byte(`{}`)}); err == nil {
				t.Fatal("a store whose restore failed took an append")
			}
			dst.Close()
			if _, err := os.Stat(dir); err != nil {
				t.Fatal(err)
			}
			dst = reopen(t, dir) // what is left is a shorter log with its anchor, never a broken one
			if _, viol, err := dst.Verify(); err != nil || viol != nil {
				t.Fatalf("verify after a refused restore: %v %v", viol, err)
			}
		})
	}
}

// TestHolds: the chain holds its head, its anchor, a record in between
// with its own hash, and nothing else.
func TestHolds(t *testing.T) {
	s, _ := openStore(t)
	s.segmentSize = 900
	if ok, err := s.Holds(0, [32]byte{}); !ok || err != nil {
		t.Fatalf("an empty store does not hold the chain's start: %v", err)
	}
	appendIndexed(t, s, 1, 20, 2)
	if _, err := s.Trim(21, 11, []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	var rec15 Record
	_ = s.Read(func(v *View) error {
		return v.Each(14, func(r Record) (bool, error) { rec15 = r; return false, nil })
	})
	head, headHash := s.Head()
	v, _ := s.View()
	anchor, _ := v.Anchor()
	v.Close()
	other := rec15.Hash
	other[3] ^= 1
	cases := []struct {
		seq  uint64
		hash [32]byte
		want bool
	}{
		{head, headHash, true},
		{15, rec15.Hash, true},
		{anchor.Seq, anchor.Hash, true},
		{15, other, false},
		{head + 1, headHash, false},
		{anchor.Seq - 1, anchor.Hash, false},
		{0, other, false},
	}
	for _, c := range cases {
		if got, err := s.Holds(c.seq, c.hash); got != c.want || err != nil {
			t.Errorf("Holds(%d): %v %v, want %v", c.seq, got, err, c.want)
		}
	}
}

func inodes(t *testing.T, dir string) map[string]uint64 {
	t.Helper()
	out := map[string]uint64{}
	for _, p := range segmentPaths(t, dir) {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		out[filepath.Base(p)] = fi.Sys().(*syscall.Stat_t).Ino
	}
	return out
}

// TestExtendAppendsWhatFollows: a store behind a snapshot keeps its files
// and takes the records after its head, with their batches and indexes;
// with a trim in the snapshot, it takes the window too.
func TestExtendAppendsWhatFollows(t *testing.T) {
	for _, trim := range []bool{false, true} {
		t.Run(fmt.Sprintf("trim=%v", trim), func(t *testing.T) {
			src, _ := openStore(t)
			src.segmentSize = 1100 // room for a batch's first frame, not for all three
			appendIndexed(t, src, 1, 30, 3)
			if trim {
				if _, err := src.Trim(31, 40, []byte(`{"eventName":"AuditTrim"}`)); err != nil {
					t.Fatal(err)
				}
			}
			e, stream := extentStream(t, src)
			dst, dir := openStore(t)
			dst.segmentSize = 1100
			appendIndexed(t, dst, 1, 14, 3)
			before := inodes(t, dir)
			ok, err := dst.Extend(31, e, bytes.NewReader(stream))
			if !ok || err != nil {
				t.Fatalf("extend: %v %v", ok, err)
			}
			after := inodes(t, dir)
			for name, ino := range before {
				if got, kept := after[name]; kept && got != ino {
					t.Fatalf("segment %s was rewritten", name)
				}
			}
			if !trim && len(after) <= len(before) {
				t.Fatalf("%d segments before, %d after: nothing appended", len(before), len(after))
			}
			sh, shash := src.Head()
			if h, hash := dst.Head(); h != sh || hash != shash || dst.First() != src.First() || dst.Index() != 31 {
				t.Fatalf("head %d first %d index %d; the snapshot's: %d, %d, 31", h, dst.First(), dst.Index(), sh, src.First())
			}
			mustVerify(t, dst, sh-max(src.First(), 1)+1)
			// Segments roll where the source's did, so the two nodes'
			// snapshots are the same bytes.
			if _, got := extentStream(t, dst); !bytes.Equal(got, stream) {
				t.Fatal("the extended store's segments differ from the snapshot's")
			}
			dst.Close()
			dst = reopen(t, dir) // the batches it appended are whole, with their indexes
			if h, _ := dst.Head(); h != sh || dst.Index() != 31 {
				t.Fatalf("after reopen: head %d index %d", h, dst.Index())
			}
			appendIndexed(t, dst, 30, 32, 1) // 30 and 31 are held: skipped
			if h, _ := dst.Head(); h != sh+1 {
				t.Fatalf("after the replay: head %d, want %d", h, sh+1)
			}
		})
	}
}

// TestExtendLeavesOtherStores: Extend reads nothing and reports false for
// a store that is empty, holds the snapshot's head already, or is behind
// its window; and refuses, keeping its log, one whose chain is another.
func TestExtendLeavesOtherStores(t *testing.T) {
	src, _ := openStore(t)
	appendIndexed(t, src, 1, 30, 3)
	if _, err := src.Trim(31, 40, []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	e, stream := extentStream(t, src)
	for name, n := range map[string]uint64{"empty": 0, "as far": 31, "below the window": 5} {
		dst, _ := openStore(t)
		appendIndexed(t, dst, 1, n, 3)
		if n == 31 {
			dst, _ = openStore(t)
			if err := dst.Restore(31, e, bytes.NewReader(stream)); err != nil {
				t.Fatal(err)
			}
		}
		r := bytes.NewReader(stream)
		if ok, err := dst.Extend(31, e, r); ok || err != nil || r.Len() != len(stream) {
			t.Fatalf("%s: extend %v %v, read %d bytes", name, ok, err, len(stream)-r.Len())
		}
	}

	other, dir := openStore(t)
	for i := uint64(1); i <= 60; i++ { // within the snapshot's window, on another chain
		if _, err := other.Append(i, [][]byte{[]byte(fmt.Sprintf(`{"other":%d}`, i))}); err != nil {
			t.Fatal(err)
		}
	}
	before := inodes(t, dir)
	ok, err := other.Extend(31, e, bytes.NewReader(stream))
	if !ok || !errors.Is(err, ErrDiverged) {
		t.Fatalf("extend of another chain: %v %v", ok, err)
	}
	if _, err := other.Append(61, [][]byte{[]byte(`{}`)}); err == nil {
		t.Fatal("a store that diverged took an append")
	}
	other.Close()
	other = reopen(t, dir)
	if h, _ := other.Head(); h != 60 || len(inodes(t, dir)) != len(before) {
		t.Fatalf("the diverged log changed: head %d", h)
	}
	mustVerify(t, other, 60)
}

// TestExtendRefusesAForgedEvent: the events a store takes from a snapshot
// past its own head must chain, link by link; one rewritten with valid
// checksums is refused and the store takes no more writes.
func TestExtendRefusesAForgedEvent(t *testing.T) {
	src, _ := openStore(t)
	appendIndexed(t, src, 1, 20, 2)
	e, stream := extentStream(t, src)
	if len(e.Segments) != 1 {
		t.Fatalf("%d segments, want one", len(e.Segments))
	}
	fs := readFramesBytes(t, stream)
	fs[14].rec.Event = []byte(`{"eventName":"Forged"}`) // event 15, after the store's head
	forged := []byte(segmentMagic)
	for _, f := range fs {
		forged = appendFrame(forged, f.flags, f.index, &f.rec)
	}
	e.Segments[0].Size = int64(len(forged))

	dst, _ := openStore(t)
	appendIndexed(t, dst, 1, 5, 2)
	ok, err := dst.Extend(20, e, bytes.NewReader(forged))
	if !ok || !errors.Is(err, ErrBadRecord) {
		t.Fatalf("extend with a forged event: %v %v, want ErrBadRecord", ok, err)
	}
	if _, err := dst.Append(21, [][]byte{[]byte(`{}`)}); err == nil {
		t.Fatal("a store whose extend failed took an append")
	}
}
