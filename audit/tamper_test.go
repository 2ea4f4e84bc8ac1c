package audit

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// storedFrame is one frame of a segment file as a test edits it.
type storedFrame struct {
	flags byte
	index uint64
	rec   Record
}

// segmentPaths lists a store directory's segment files, oldest first.
func segmentPaths(t *testing.T, dir string) []string {
	t.Helper()
	firsts, err := listSegments(dir)
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, f := range firsts {
		paths = append(paths, filepath.Join(dir, segmentName(f)))
	}
	return paths
}

func readFrames(t *testing.T, path string) []storedFrame {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(b, []byte(segmentMagic)) {
		t.Fatalf("%s: no segment header", path)
	}
	fr := newFrameReader(bytes.NewReader(b[len(segmentMagic):]), path, int64(len(segmentMagic)), int64(len(b)))
	var out []storedFrame
	for {
		f, _, err := fr.next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		f.rec.Event = bytes.Clone(f.rec.Event)
		out = append(out, storedFrame(f))
	}
}

// writeFrames rewrites a segment file with valid lengths and checksums, as
// an attacker who knows the format would.
func writeFrames(t *testing.T, path string, frames []storedFrame) {
	t.Helper()
	b := []byte(segmentMagic)
	for _, f := range frames {
		b = appendFrame(b, f.flags, f.index, &f.rec)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// tamper edits the newest segment of a stopped store.
func tamper(t *testing.T, dir string, edit func([]storedFrame) []storedFrame) {
	t.Helper()
	paths := segmentPaths(t, dir)
	last := paths[len(paths)-1]
	writeFrames(t, last, edit(readFrames(t, last)))
}

func findSeq(fs []storedFrame, seq uint64) int {
	for i, f := range fs {
		if f.rec.Seq == seq {
			return i
		}
	}
	panic("no such record")
}

func deleteSeq(fs []storedFrame, seq uint64) []storedFrame {
	i := findSeq(fs, seq)
	return append(fs[:i:i], fs[i+1:]...)
}

func TestVerifyFindsTampering(t *testing.T) {
	cases := []struct {
		name    string
		edit    func([]storedFrame) []storedFrame
		raw     func(b []byte) []byte // edits the file's bytes instead, checksums left as they are
		wantSeq uint64
		reason  string
	}{
		{name: "changed", edit: func(fs []storedFrame) []storedFrame {
			r := &fs[findSeq(fs, 5)].rec
			r.Event = []byte(strings.Replace(string(r.Event), "Encrypt", "Decrypt", 1))
			return fs
		}, wantSeq: 5, reason: "changed"},
		{name: "changed bytes, checksum not fixed", raw: func(b []byte) []byte {
			i := bytes.Index(b, []byte(`"e5"`))
			b[i+1] = 'x'
			return b
		}, wantSeq: 5, reason: "changed"},
		{name: "removed", edit: func(fs []storedFrame) []storedFrame { return deleteSeq(fs, 4) }, wantSeq: 4, reason: "removed"},
		{name: "reordered", edit: func(fs []storedFrame) []storedFrame {
			i, j := findSeq(fs, 6), findSeq(fs, 7)
			fs[i], fs[j] = fs[j], fs[i]
			fs[i].rec.Seq, fs[j].rec.Seq = 6, 7
			return fs
		}, wantSeq: 6, reason: "previous-hash"},
		{name: "reordered, numbers kept", edit: func(fs []storedFrame) []storedFrame {
			i, j := findSeq(fs, 6), findSeq(fs, 7)
			fs[i], fs[j] = fs[j], fs[i]
			return fs
		}, wantSeq: 6, reason: "found event 7"},
		{name: "inserted", edit: func(fs []storedFrame) []storedFrame {
			// Shift 8.. up by one and insert a forged event, rehashed on its own.
			i := findSeq(fs, 8)
			for k := i; k < len(fs); k++ {
				fs[k].rec.Seq++
			}
			forged := Record{Seq: 8, Prev: fs[i-1].rec.Hash, Event: []byte(`{"eventName":"Forged"}`)}
			forged.Hash = chainHash(forged.Prev, forged.Seq, forged.Event)
			return append(fs[:i:i], append([]storedFrame{{flagBatchEnd, 0, forged}}, fs[i:]...)...)
		}, wantSeq: 9},
		{name: "length cut", raw: func(b []byte) []byte {
			i := bytes.Index(b, []byte(`"e5"`))
			return append(b[:i:i], b[i+10:]...) // the frame's length now runs into the next one
		}, wantSeq: 5, reason: "changed"},
		{name: "torn tail is not a break", raw: func(b []byte) []byte { return b[:len(b)-7] }},
		{name: "untouched", edit: func(fs []storedFrame) []storedFrame { return fs }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, dir := openStore(t)
			fill(t, s, 10)
			s.Close()
			if tc.edit != nil {
				tamper(t, dir, tc.edit)
			} else {
				path := segmentPaths(t, dir)[0]
				b, err := os.ReadFile(path)
				if err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, tc.raw(b), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			ro, err := OpenReadOnly(dir)
			if err != nil {
				t.Fatal(err)
			}
			defer ro.Close()
			_, viol, err := ro.Verify()
			if err != nil {
				t.Fatal(err)
			}
			if tc.wantSeq == 0 {
				if viol != nil {
					t.Fatalf("untouched log reported %v", viol)
				}
				return
			}
			if viol == nil || viol.Seq != tc.wantSeq || !strings.Contains(viol.Reason, tc.reason) {
				t.Fatalf("got %v, want a break at %d (%s)", viol, tc.wantSeq, tc.reason)
			}
		})
	}
}

// TestVerifyFindsRemovedSegment: a whole segment file deleted, or cut
// short, from the middle of the log is a break where it was.
func TestVerifyFindsRemovedSegment(t *testing.T) {
	for _, cut := range []bool{false, true} {
		s, dir := openStore(t)
		s.segmentSize = 512
		fill(t, s, 30)
		s.Close()
		paths := segmentPaths(t, dir)
		if len(paths) < 4 {
			t.Fatalf("%d segments, want several", len(paths))
		}
		victim := readFrames(t, paths[2])
		if cut {
			if err := os.Truncate(paths[2], 200); err != nil {
				t.Fatal(err)
			}
		} else if err := os.Remove(paths[2]); err != nil {
			t.Fatal(err)
		}
		ro, err := OpenReadOnly(dir)
		if err != nil {
			t.Fatal(err)
		}
		_, viol, err := ro.Verify()
		ro.Close()
		if err != nil || viol == nil {
			t.Fatalf("cut=%v: verify %v %v", cut, viol, err)
		}
		if !cut && viol.Seq != victim[0].rec.Seq {
			t.Fatalf("removed segment from %d: break reported at %d", victim[0].rec.Seq, viol.Seq)
		}
		t.Logf("cut=%v: %v", cut, viol)
	}
}
