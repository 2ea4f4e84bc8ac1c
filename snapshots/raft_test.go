package snapshots

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
)

// logFSM appends every entry to an append-only file, as the audit store
// does, and snapshots as a header, a linked prefix of that file and a
// trailer. Restore keeps the stream it was given.
type logFSM struct {
	mu       sync.Mutex
	file     *os.File
	size     int64  // guarded by mu
	restored []byte // guarded by mu
	restores int    // guarded by mu
}

func (f *logFSM) Apply(l *raft.Log) any {
	f.mu.Lock()
	defer f.mu.Unlock()
	n, err := f.file.Write(l.Data)
	f.size += int64(n)
	if err != nil {
		panic(err) // a replica that cannot apply must stop
	}
	return nil
}

func (f *logFSM) Snapshot() (raft.FSMSnapshot, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return &logSnapshot{file: f.file, size: f.size}, nil
}

func (f *logFSM) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.restored = b
	f.restores++
	return nil
}

func (f *logFSM) lastRestore() ([]byte, int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.restored, f.restores
}

type logSnapshot struct {
	file *os.File
	size int64
}

func (s *logSnapshot) Persist(sink raft.SnapshotSink) error {
	err := func() error {
		if _, err := fmt.Fprintf(sink, "log %d\n", s.size); err != nil {
			return err
		}
		ours, ok := sink.(*Sink)
		if !ok {
			return fmt.Errorf("sink is %T, want *snapshots.Sink", sink)
		}
		if err := ours.WriteFile(s.file, s.size); err != nil {
			return err
		}
		_, err := io.WriteString(sink, "end\n")
		return err
	}()
	if err != nil {
		_ = sink.Cancel()
		return err
	}
	return sink.Close()
}

func (s *logSnapshot) Release() {}

type testNode struct {
	raft  *raft.Raft
	fsm   *logFSM
	store *Store
	logs  *raft.InmemStore
	addr  raft.ServerAddress
}

func startNode(t *testing.T, id string) *testNode {
	t.Helper()
	dir := t.TempDir()
	file, err := os.OpenFile(filepath.Join(dir, "fsm.log"), os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { file.Close() })
	store, err := New(filepath.Join(dir, "snapshots"), 2, nil)
	if err != nil {
		t.Fatal(err)
	}
	trans, err := raft.NewTCPTransport("127.0.0.1:0", nil, 3, 5*time.Second, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	conf := raft.DefaultConfig()
	conf.LocalID = raft.ServerID(id)
	conf.Logger = hclog.NewNullLogger()
	conf.HeartbeatTimeout = 50 * time.Millisecond
	conf.ElectionTimeout = 50 * time.Millisecond
	conf.LeaderLeaseTimeout = 50 * time.Millisecond
	conf.CommitTimeout = 5 * time.Millisecond
	// Snapshots only when the test asks, and then compact the log
	// nearly to the snapshot, so a new follower must install it.
	conf.SnapshotThreshold = 1 << 40
	conf.SnapshotInterval = time.Hour
	conf.TrailingLogs = 2
	n := &testNode{fsm: &logFSM{file: file}, store: store, logs: raft.NewInmemStore(), addr: trans.LocalAddr()}
	n.raft, err = raft.NewRaft(conf, n.fsm, n.logs, n.logs, store, trans)
	if err != nil {
		trans.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := n.raft.Shutdown().Error(); err != nil {
			t.Errorf("shutdown %s: %v", id, err)
		}
		trans.Close()
	})
	return n
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond) // the poll interval, not the wait
	}
}

func TestInstallSnapshotOverTCP(t *testing.T) {
	leader := startNode(t, "n1")
	boot := raft.Configuration{Servers: []raft.Server{{Suffrage: raft.Voter, ID: "n1", Address: leader.addr}}}
	if err := leader.raft.BootstrapCluster(boot).Error(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "n1 to lead", func() bool { return leader.raft.State() == raft.Leader })

	var entries bytes.Buffer
	apply := func(n int) {
		for i := range n {
			data := fmt.Appendf(nil, "entry %03d|", entries.Len()+i)
			if err := leader.raft.Apply(data, 5*time.Second).Error(); err != nil {
				t.Fatal(err)
			}
			entries.Write(data)
		}
	}
	apply(40)
	if err := leader.raft.Snapshot().Error(); err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("log %d\n%send\n", entries.Len(), entries.String())
	apply(5) // after the snapshot: the follower gets these from the log

	list, err := leader.store.List()
	if err != nil || len(list) != 1 {
		t.Fatalf("leader's snapshots: %v, %v", list, err)
	}
	m, got := readSnapshot(t, leader.store, list[0].ID)
	if got != want {
		t.Fatalf("leader's snapshot reads %q, want %q", got, want)
	}
	if n := nlink(t, leader.fsm.file.Name()); n != 2 {
		t.Fatalf("FSM file has %d links, want 2: the snapshot should link it", n)
	}
	if first, _ := leader.logs.FirstIndex(); first <= 1 {
		t.Fatalf("leader's log starts at %d: not compacted, no InstallSnapshot", first)
	}

	follower := startNode(t, "n2")
	if err := leader.raft.AddVoter("n2", follower.addr, 0, 5*time.Second).Error(); err != nil {
		t.Fatal(err)
	}
	last := leader.raft.LastIndex()
	waitFor(t, "n2 to catch up", func() bool { return follower.raft.AppliedIndex() >= last })

	restored, restores := follower.fsm.lastRestore()
	if restores != 1 || string(restored) != want {
		t.Fatalf("n2 restored %d times, last %q, want once %q", restores, restored, want)
	}
	flist, err := follower.store.List()
	if err != nil || len(flist) != 1 {
		t.Fatalf("n2's snapshots: %v, %v", flist, err)
	}
	if flist[0].Size != m.Size || flist[0].Index != m.Index {
		t.Fatalf("n2 stored %+v, leader has %+v", flist[0], m)
	}
	if _, got := readSnapshot(t, follower.store, flist[0].ID); got != want {
		t.Fatalf("n2's stored snapshot reads %q", got)
	}
}
