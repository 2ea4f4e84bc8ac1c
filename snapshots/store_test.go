package snapshots

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/hashicorp/raft"
)

// linkedSnapshot saves "in" + 8 bytes of a linked file + "line" and
// returns the store, the snapshot id and the source file.
func linkedSnapshot(t *testing.T) (*Store, string, *os.File) {
	t.Helper()
	s := newStore(t, 5)
	f := source(t, filepath.Join(t.TempDir(), "a.seg"), "linked!!")
	sink := create(t, s, 10)
	write(t, sink, "in")
	writeFile(t, sink, f, 8)
	write(t, sink, "line")
	closeSink(t, sink)
	return s, sink.ID(), f
}

func TestOpenRefusesDamage(t *testing.T) {
	for _, tc := range []struct {
		name   string
		damage func(t *testing.T, dir string, src *os.File)
		want   error
	}{
		{"state.bin byte flipped", func(t *testing.T, dir string, _ *os.File) {
			path := filepath.Join(dir, stateFile)
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			b[1] ^= 0x40
			if err := os.WriteFile(path, b, 0o644); err != nil {
				t.Fatal(err)
			}
		}, ErrChecksum},
		{"state.bin missing", func(t *testing.T, dir string, _ *os.File) {
			if err := os.Remove(filepath.Join(dir, stateFile)); err != nil {
				t.Fatal(err)
			}
		}, os.ErrNotExist},
		{"linked part truncated", func(t *testing.T, _ string, src *os.File) {
			// The part is the source's inode: truncating either shortens both.
			if err := src.Truncate(7); err != nil {
				t.Fatal(err)
			}
		}, ErrShortPart},
		{"linked part missing", func(t *testing.T, dir string, _ *os.File) {
			if err := os.Remove(filepath.Join(dir, partName(1))); err != nil {
				t.Fatal(err)
			}
		}, os.ErrNotExist},
		{"meta.json garbage", func(t *testing.T, dir string, _ *os.File) {
			if err := os.WriteFile(filepath.Join(dir, metaFile), []byte("{\"Version\":1,\x00garbage"), 0o644); err != nil {
				t.Fatal(err)
			}
		}, ErrBadMeta},
		{"meta.json missing", func(t *testing.T, dir string, _ *os.File) {
			if err := os.Remove(filepath.Join(dir, metaFile)); err != nil {
				t.Fatal(err)
			}
		}, os.ErrNotExist},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, id, src := linkedSnapshot(t)
			good := create(t, s, 5) // an older, intact snapshot
			write(t, good, "intact")
			closeSink(t, good)

			tc.damage(t, filepath.Join(s.dir, id), src)
			_, _, err := s.Open(id)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Open: %v, want %v", err, tc.want)
			}
			list, err := s.List()
			if err != nil {
				t.Fatal(err)
			}
			if len(list) == 0 || list[len(list)-1].ID != good.ID() {
				t.Fatalf("List lost the intact snapshot: %v", list)
			}
			if _, got := readSnapshot(t, s, good.ID()); got != "intact" {
				t.Fatalf("intact snapshot reads %q", got)
			}
		})
	}
}

func TestListSkipsUnreadableMeta(t *testing.T) {
	s, id, _ := linkedSnapshot(t)
	if err := os.WriteFile(filepath.Join(s.dir, id, metaFile), []byte("not json"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(s.dir, "1-1-1.tmp"), 0o755); err != nil {
		t.Fatal(err)
	}
	list, err := s.List()
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 0 {
		t.Fatalf("List: %v, want nothing", list)
	}
}

func TestOpenRefusesBadIDs(t *testing.T) {
	s, id, _ := linkedSnapshot(t)
	for _, bad := range []string{"", ".", "..", "../" + id, id + "/..", "a/b", `a\b`, id + ".tmp", "x\x00y"} {
		if _, _, err := s.Open(bad); !errors.Is(err, ErrBadID) {
			t.Errorf("Open(%q): %v, want ErrBadID", bad, err)
		}
	}
	// A meta.json copied under another name would make List and Open
	// disagree about which directory an id names.
	if err := os.Rename(filepath.Join(s.dir, id), filepath.Join(s.dir, "9-9-9")); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Open("9-9-9"); !errors.Is(err, ErrBadMeta) {
		t.Errorf("Open of a renamed snapshot: %v, want ErrBadMeta", err)
	}
}

func TestReapKeepsNewest(t *testing.T) {
	const retain = 3
	s := newStore(t, retain)
	var ids []string
	for i := range uint64(7) {
		sink := create(t, s, 100+i)
		write(t, sink, "state")
		closeSink(t, sink)
		ids = append(ids, sink.ID())
	}
	list, err := s.List()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range list {
		got = append(got, m.ID)
	}
	want := []string{ids[6], ids[5], ids[4]}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("List %v, want %v", got, want)
	}
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != retain {
		t.Fatalf("%d entries in the store, want %d", len(entries), retain)
	}
}

func TestNewRemovesTemporaries(t *testing.T) {
	s := newStore(t, 2)
	left := create(t, s, 10)
	write(t, left, "crash before Close")
	left.closeState()
	if _, err := New(s.dir, 2, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(left.dir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("temporary snapshot after New: %v", err)
	}
	if _, err := New(s.dir, 0, nil); err == nil {
		t.Fatal("New accepted retain 0")
	}
}

// raft.FileSnapshotStore puts its snapshots in <base>/snapshots; this store
// is given that directory, as the node does with <datadir>/snapshots.
func TestFileSnapshotStoreCompatibility(t *testing.T) {
	base := t.TempDir()
	fss, err := raft.NewFileSnapshotStore(base, 5, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	_, trans := raft.NewInmemTransport("127.0.0.1:1")
	conf := raft.Configuration{Servers: []raft.Server{
		{Suffrage: raft.Voter, ID: "a", Address: "127.0.0.1:1"},
		{Suffrage: raft.Voter, ID: "b", Address: "127.0.0.1:2"},
		{Suffrage: raft.Nonvoter, ID: "c", Address: "127.0.0.1:3"},
	}}
	const data = "written by raft.FileSnapshotStore"
	fsink, err := fss.Create(1, 20, 2, conf, 7, trans)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(fsink, data); err != nil {
		t.Fatal(err)
	}
	if err := fsink.Close(); err != nil {
		t.Fatal(err)
	}

	s, err := New(filepath.Join(base, "snapshots"), 5, nil)
	if err != nil {
		t.Fatal(err)
	}
	list, err := s.List()
	if err != nil {
		t.Fatal(err)
	}
	flist, err := fss.List()
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || !reflect.DeepEqual(list, flist) {
		t.Fatalf("List %+v, FileSnapshotStore lists %+v", list, flist)
	}
	m, got := readSnapshot(t, s, fsink.ID())
	if got != data || !reflect.DeepEqual(m, flist[0]) {
		t.Fatalf("opened %q %+v, want %q %+v", got, m, data, flist[0])
	}

	// The other way: a snapshot made only of Write calls is one
	// FileSnapshotStore reads, with the same meta (Peers included).
	ours, err := s.Create(1, 21, 2, conf, 7, trans)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(ours, "inline only"); err != nil {
		t.Fatal(err)
	}
	if err := ours.Close(); err != nil {
		t.Fatal(err)
	}
	fm, rc, err := fss.Open(ours.ID())
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != "inline only" || fm.Size != int64(len(b)) || string(fm.Peers) != string(flist[0].Peers) {
		t.Fatalf("FileSnapshotStore read %q, meta %+v", b, fm)
	}
}
