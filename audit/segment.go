package audit

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
)

const (
	// defaultSegmentSize is where the writer starts a new segment: large
	// enough that seals (one fsync each) and files are few, small enough
	// that retention frees space in useful steps.
	defaultSegmentSize = 64 << 20
	// markEvery is the spacing of a segment's seek marks: a read from the
	// middle of a segment (tail -f, a trim's anchor) starts at most this
	// many bytes before its first record.
	markEvery = 1 << 20
	segSuffix = ".seg"
)

// segment is one file of the log, holding the records from seq first on
// (its name) up to the next segment's first.
type segment struct {
	first uint64
	path  string
	// f stays open while anyone holds a reference: the store holds one
	// while the segment is live, each View one while it may read it. Trim
	// and restores unlink the file at once (so a crash leaves the directory
	// as they meant it), and views that still read it keep its bytes.
	f    *os.File
	refs int // guarded by Store.mu

	size    int64 // bytes of published records: readers read up to here; guarded by Store.mu
	written int64 // bytes on disk, ahead of size during an append; the writer's own (Store.wmu)
	// kicked and dropped are the writer's progress through writeback.go:
	// bytes whose writeback it started, bytes it dropped from the cache.
	kicked, dropped int64

	mu      sync.Mutex // guards marks and indexed, between the writer and readers seeking
	marks   []mark     // ascending; one per markEvery bytes
	indexed bool       // marks cover the segment: it was written or scanned by this process
}

// mark says that the frame at off holds record seq.
type mark struct {
	seq uint64
	off int64
}

func segmentName(first uint64) string { return fmt.Sprintf("%020d%s", first, segSuffix) }

// listSegments returns the first sequence numbers of the segment files in
// dir, ascending. Other files (the meta file) are not segments.
func listSegments(dir string) ([]uint64, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var firsts []uint64
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), segSuffix)
		if !ok || len(name) != 20 {
			continue
		}
		if n, err := strconv.ParseUint(name, 10, 64); err == nil {
			firsts = append(firsts, n)
		}
	}
	sort.Slice(firsts, func(i, j int) bool { return firsts[i] < firsts[j] })
	return firsts, nil
}

// createSegment makes a new, empty segment for records from first on.
func createSegment(dir string, first uint64) (*segment, error) {
	path := filepath.Join(dir, segmentName(first))
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("create audit segment: %w", err)
	}
	if err := f.Chmod(0o600); err != nil { // exactly, whatever the umask
		f.Close()
		return nil, fmt.Errorf("create audit segment: %w", err)
	}
	if _, err := f.WriteAt([]byte(segmentMagic), 0); err != nil {
		f.Close()
		return nil, fmt.Errorf("create audit segment: %w", err)
	}
	n := int64(len(segmentMagic))
	return &segment{first: first, path: path, f: f, size: n, written: n, indexed: true}, nil
}

// openSegment opens an existing segment and checks its header. A header
// that is short or zeros is errTornFrame (a crash while creating it) for
// the caller to judge; any other wrong header is errCorruptStore.
func openSegment(dir string, first uint64, writable bool) (*segment, error) {
	path := filepath.Join(dir, segmentName(first))
	flag := os.O_RDONLY
	if writable {
		flag = os.O_RDWR
	}
	f, err := os.OpenFile(path, flag, 0)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	s := &segment{first: first, path: path, f: f, size: st.Size(), written: st.Size()}
	hdr := make([]byte, len(segmentMagic))
	if _, err := f.ReadAt(hdr, 0); err != nil || bytes.Count(hdr, []byte{0}) == len(hdr) {
		return s, fmt.Errorf("%w: segment %s has no header", errTornFrame, path)
	}
	if string(hdr) != segmentMagic {
		return s, fmt.Errorf("%w: segment %s has header %q", errCorruptStore, path, hdr)
	}
	return s, nil
}

// release drops one reference; the last closes the file. Store.mu held.
func (g *segment) release() {
	if g.refs--; g.refs == 0 {
		g.f.Close()
	}
}

// addMark records a frame the writer put at off, if it is markEvery past
// the previous mark.
func (g *segment) addMark(seq uint64, off int64) {
	g.mu.Lock()
	if markDue(g.marks, off) {
		g.marks = append(g.marks, mark{seq, off})
	}
	g.mu.Unlock()
}

// markDue reports whether a frame at off is markEvery past the last of
// marks (or past the header's end, the first).
func markDue(marks []mark, off int64) bool {
	if n := len(marks); n > 0 {
		return off-marks[n-1].off >= markEvery
	}
	return off >= markEvery
}

// seek returns the offset of a frame at or before the one holding seq,
// scanning the segment (up to limit) once if this process has not
// written or scanned it.
func (g *segment) seek(seq uint64, limit int64) (int64, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.indexed {
		// Marks are hints: those found before a corrupt frame are right,
		// and a read that goes further meets the corruption itself.
		sc, _ := scanSegment(g.f, g.path, limit)
		g.marks, g.indexed = sc.marks, true
	}
	i := sort.Search(len(g.marks), func(i int) bool { return g.marks[i].seq > seq })
	if i == 0 {
		return int64(len(segmentMagic)), nil
	}
	return g.marks[i-1].off, nil
}

// tailScan is what a scan of a segment found.
type tailScan struct {
	end     int64  // where the last complete batch ends (the header's end if none)
	head    Record // Seq and Hash of that batch's last record
	index   uint64 // the largest Raft index among complete batches
	records bool   // whether there is a complete batch at all
	marks   []mark // seek marks up to end
}

// scanSegment reads a segment's frames up to limit. It stops at the first
// frame that is torn or corrupt and returns that error with what it found
// before it: Open truncates the segment there.
func scanSegment(r io.ReaderAt, path string, limit int64) (tailScan, error) {
	off := int64(len(segmentMagic))
	sc := tailScan{end: off}
	fr := newFrameReader(io.NewSectionReader(r, off, max(0, limit-off)), path, off, limit)
	var marks []mark
	for {
		at := fr.off
		f, _, err := fr.next()
		if err != nil {
			for len(marks) > 0 && marks[len(marks)-1].off >= sc.end {
				marks = marks[:len(marks)-1] // past the last complete batch
			}
			sc.marks = marks
			if err == io.EOF {
				err = nil
			}
			return sc, err
		}
		if markDue(marks, at) {
			marks = append(marks, mark{f.rec.Seq, at})
		}
		if f.flags&flagBatchEnd != 0 {
			sc.end, sc.records = fr.off, true
			sc.head = Record{Seq: f.rec.Seq, Hash: f.rec.Hash}
			sc.index = max(sc.index, f.index)
		}
	}
}
