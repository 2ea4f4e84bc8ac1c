package snapshots

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/hashicorp/raft"
)

func newStore(t *testing.T, retain int) *Store {
	t.Helper()
	s, err := New(filepath.Join(t.TempDir(), "snapshots"), retain, nil)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func create(t *testing.T, s *Store, index uint64) *Sink {
	t.Helper()
	conf := raft.Configuration{Servers: []raft.Server{{Suffrage: raft.Voter, ID: "a", Address: "a"}}}
	sink, err := s.Create(1, index, 3, conf, 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	return sink.(*Sink)
}

// source creates an append-only file holding content, the way a caller
// of WriteFile keeps its segments, and closes it at the end of the test.
func source(t *testing.T, path, content string) *os.File {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	if _, err := f.WriteString(content); err != nil {
		t.Fatal(err)
	}
	return f
}

func write(t *testing.T, sink *Sink, s string) {
	t.Helper()
	if _, err := io.WriteString(sink, s); err != nil {
		t.Fatal(err)
	}
}

func writeFile(t *testing.T, sink *Sink, f *os.File, size int64) {
	t.Helper()
	if err := sink.WriteFile(f, size); err != nil {
		t.Fatal(err)
	}
}

func closeSink(t *testing.T, sink *Sink) {
	t.Helper()
	if err := sink.Close(); err != nil {
		t.Fatal(err)
	}
}

// readSnapshot opens id and reads its whole stream.
func readSnapshot(t *testing.T, s *Store, id string) (*raft.SnapshotMeta, string) {
	t.Helper()
	m, rc, err := s.Open(id)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return m, string(b)
}

func nlink(t *testing.T, path string) uint64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return uint64(fi.Sys().(*syscall.Stat_t).Nlink)
}

// linkedParts lists the part files in a saved snapshot's directory.
func linkedParts(t *testing.T, s *Store, id string) []string {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(s.dir, id, partPrefix+"*"))
	if err != nil {
		t.Fatal(err)
	}
	return names
}

func TestWriteFileLinksPrefixes(t *testing.T) {
	s := newStore(t, 2)
	src := t.TempDir()
	a := source(t, filepath.Join(src, "a.seg"), "0123456789")
	b := source(t, filepath.Join(src, "b.seg"), "abcdefghijklmnopqrst")

	sink := create(t, s, 10)
	write(t, sink, "head:")
	writeFile(t, sink, a, 10)
	writeFile(t, sink, b, 15) // a prefix: the rest is not in the snapshot
	write(t, sink, ":tail")
	closeSink(t, sink)

	want := "head:" + "0123456789" + "abcdefghijklmno" + ":tail"
	m, got := readSnapshot(t, s, sink.ID())
	if got != want {
		t.Fatalf("stream %q, want %q", got, want)
	}
	if m.Size != int64(len(want)) {
		t.Fatalf("meta.Size %d, want %d", m.Size, len(want))
	}
	for _, f := range []*os.File{a, b} {
		if n := nlink(t, f.Name()); n != 2 {
			t.Errorf("%s has %d links, want 2", f.Name(), n)
		}
	}
	parts := linkedParts(t, s, sink.ID())
	if len(parts) != 2 {
		t.Fatalf("part files %v, want 2", parts)
	}
	fi, err := os.Stat(filepath.Join(s.dir, sink.ID(), stateFile))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Size() != int64(len("head:")+len(":tail")) {
		t.Errorf("state.bin has %d bytes, want only the inline ones", fi.Size())
	}
}

func TestLinkedPrefixSurvivesAppendAndUnlink(t *testing.T) {
	s := newStore(t, 2)
	a := source(t, filepath.Join(t.TempDir(), "a.seg"), "original")
	sink := create(t, s, 10)
	writeFile(t, sink, a, 8)
	closeSink(t, sink)

	if _, err := a.WriteString("+appended after the snapshot"); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(a.Name()); err != nil {
		t.Fatal(err)
	}
	m, got := readSnapshot(t, s, sink.ID())
	if got != "original" || m.Size != 8 {
		t.Fatalf("stream %q (size %d), want %q", got, m.Size, "original")
	}
}

func TestWriteFileFallsBackToCopy(t *testing.T) {
	for _, tc := range []struct {
		name    string
		replace bool // put a different file under the old name
	}{
		{"name reused", true},
		{"name gone", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newStore(t, 2)
			path := filepath.Join(t.TempDir(), "a.seg")
			f := source(t, path, "bytes of the open file")
			if err := os.Remove(path); err != nil {
				t.Fatal(err)
			}
			if tc.replace {
				source(t, path, "a different file, same name, longer than f")
			}
			sink := create(t, s, 10)
			write(t, sink, "<")
			writeFile(t, sink, f, 14)
			write(t, sink, ">")
			closeSink(t, sink)

			if _, got := readSnapshot(t, s, sink.ID()); got != "<bytes of the o>" {
				t.Fatalf("stream %q", got)
			}
			if parts := linkedParts(t, s, sink.ID()); len(parts) != 0 {
				t.Fatalf("stray part files %v", parts)
			}
			if tc.replace {
				if n := nlink(t, path); n != 1 {
					t.Fatalf("the other file has %d links, want 1", n)
				}
			}
		})
	}
}

func TestWriteFileShortFile(t *testing.T) {
	s := newStore(t, 2)
	f := source(t, filepath.Join(t.TempDir(), "a.seg"), "short")
	sink := create(t, s, 10)
	write(t, sink, "x")
	if err := sink.WriteFile(f, 6); !errors.Is(err, ErrShortFile) {
		t.Fatalf("WriteFile past the end: %v, want ErrShortFile", err)
	}
	if _, err := sink.Write([]byte("y")); !errors.Is(err, ErrShortFile) {
		t.Fatalf("Write after a failed WriteFile: %v, want the first error", err)
	}
	if err := sink.Cancel(); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 0 {
		t.Fatalf("store holds %v after Cancel", entries)
	}
}

func TestCloseAfterErrorSavesNothing(t *testing.T) {
	s := newStore(t, 2)
	f := source(t, filepath.Join(t.TempDir(), "a.seg"), "abc")
	sink := create(t, s, 10)
	if err := sink.WriteFile(f, -1); err == nil {
		t.Fatal("negative size accepted")
	}
	if err := sink.Close(); err == nil {
		t.Fatal("Close saved a sink whose write failed")
	}
	list, err := s.List()
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 0 {
		t.Fatalf("List after failed snapshot: %v", list)
	}
}

func TestCloseAndCancelTwice(t *testing.T) {
	s := newStore(t, 2)
	sink := create(t, s, 10)
	write(t, sink, "abc")
	closeSink(t, sink)
	if err := sink.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if err := sink.Cancel(); err != nil {
		t.Fatalf("Cancel after Close: %v", err)
	}
	if _, err := sink.Write([]byte("x")); !errors.Is(err, ErrSinkClosed) {
		t.Fatalf("Write after Close: %v", err)
	}
	if _, got := readSnapshot(t, s, sink.ID()); got != "abc" {
		t.Fatalf("stream %q", got)
	}

	other := create(t, s, 11)
	for range 2 {
		if err := other.Cancel(); err != nil {
			t.Fatal(err)
		}
	}
	if err := other.Close(); err != nil {
		t.Fatalf("Close after Cancel: %v", err)
	}
	if _, err := os.Stat(other.dir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("cancelled snapshot dir: %v", err)
	}
}

func TestEmptySnapshot(t *testing.T) {
	s := newStore(t, 2)
	f := source(t, filepath.Join(t.TempDir(), "a.seg"), "")
	sink := create(t, s, 10)
	writeFile(t, sink, f, 0)
	closeSink(t, sink)
	if m, got := readSnapshot(t, s, sink.ID()); got != "" || m.Size != 0 {
		t.Fatalf("stream %q size %d", got, m.Size)
	}
	if !strings.HasPrefix(sink.ID(), "3-10-") {
		t.Fatalf("id %q, want term-index-ms", sink.ID())
	}
}
