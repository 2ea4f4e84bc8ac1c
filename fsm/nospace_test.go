package fsm

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/keyraft/keyraft/audit"
	"github.com/keyraft/keyraft/internal/diskspace"
)

// tmpfsFSM is an FSM whose audit store lives on a tmpfs of size bytes
// mounted for the test (root only, as CI runs: without it the test fails).
func tmpfsFSM(t *testing.T, size int) (*FSM, *audit.Store, string) {
	t.Helper()
	mnt := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", fmt.Sprintf("size=%d", size), "tmpfs", mnt).CombinedOutput(); err != nil {
		t.Fatalf("this test mounts a tmpfs and needs root (CI runs as root): %v: %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("umount", "-l", mnt).Run() })
	store, err := audit.Open(filepath.Join(mnt, "audit"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	return New(store), store, mnt
}

// fill writes mnt/fill until the filesystem refuses more.
func fill(t *testing.T, mnt string) {
	t.Helper()
	f, err := os.Create(filepath.Join(mnt, "fill"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for {
		if _, err := f.Write(make([]byte, 1<<20)); err != nil {
			if !diskspace.IsNoSpace(err) {
				t.Fatal(err)
			}
			return
		}
	}
}

// batchLog is n audit batches of a few large events each.
func batchLog(t *testing.T, n int) [][]byte {
	var log [][]byte
	for i := range n {
		var events [][]byte
		for j := range 4 {
			events = append(events, []byte(fmt.Sprintf(`{"eventName":"Encrypt","n":%d,"pad":%q}`, 4*i+j, strings.Repeat("x", 8<<10))))
		}
		b, err := NewAuditBatchCommand(events, time.Unix(int64(i), 0))
		if err != nil {
			t.Fatal(err)
		}
		log = append(log, b)
	}
	return log
}

func logs(data [][]byte, from uint64) []*raft.Log {
	var out []*raft.Log
	for i, d := range data {
		out = append(out, &raft.Log{Index: from + uint64(i), Type: raft.LogCommand, Data: d})
	}
	return out
}

// TestFullDiskStallsApply: when the audit store's disk is full, Apply waits
// (alarm raised, status readable) instead of panicking, resumes once space
// is freed, and the log it then holds is the one a replica with room holds.
func TestFullDiskStallsApply(t *testing.T) {
	f, store, mnt := tmpfsFSM(t, 4<<20)
	ref := newFSM(t)
	log := batchLog(t, 40) // ~1.3 MiB of events
	f.ApplyBatch(logs(log[:10], 1))
	ref.ApplyBatch(logs(log, 1))

	fill(t, mnt)
	done := make(chan struct{})
	go func() {
		defer close(done)
		f.ApplyBatch(logs(log[10:30], 11))
		applyAll(f, log[30:], 31)
	}()
	waitUntil(t, "Apply to report that it waits for space", func() bool {
		_, err := f.Stalled()
		return err != nil
	})
	// Readers are not held up by the wait.
	read := make(chan uint64)
	go func() { read <- f.AppliedIndex(); _, _ = f.Query().Init() }()
	select {
	case <-read:
	case <-time.After(5 * time.Second):
		t.Fatal("a reader blocked while Apply waited for space")
	}
	select {
	case <-done:
		t.Fatal("Apply returned on a full disk")
	default:
	}

	if err := os.Remove(filepath.Join(mnt, "fill")); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("Apply did not resume once space was freed")
	}
	if _, err := f.Stalled(); err != nil {
		t.Fatalf("alarm still raised after resuming: %v", err)
	}
	seq, hash := store.Head()
	rseq, rhash := ref.Audit().Head()
	if seq != rseq || hash != rhash || seq != 160 {
		t.Fatalf("after the stall the log's head is %d %x, a replica with room has %d %x", seq, hash, rseq, rhash)
	}
	if n, viol, err := store.Verify(); err != nil || viol != nil || n != 160 {
		t.Fatalf("verify after the stall: %d %v %v", n, viol, err)
	}
}

// TestAbandonEndsAStall: a process stopping while Apply waits for space
// ends the wait (Raft's shutdown waits for its FSM goroutine).
func TestAbandonEndsAStall(t *testing.T) {
	f, _, mnt := tmpfsFSM(t, 1<<20)
	fill(t, mnt)
	done := make(chan struct{})
	go func() {
		defer close(done)
		f.ApplyBatch(logs(batchLog(t, 40), 1))
		t.Error("ApplyBatch returned on a full disk")
	}()
	waitUntil(t, "Apply to wait for space", func() bool { _, err := f.Stalled(); return err != nil })
	f.Abandon()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Abandon did not end the wait")
	}
	// The lock is free again: the abandoned Apply left nothing held.
	_ = f.AppliedIndex()
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestRestoreOnAFullDisk: a snapshot install that runs out of space fails
// (Raft logs it and the leader sends it again) with the alarm raised, and
// the next attempt, once space is freed, restores the whole log.
func TestRestoreOnAFullDisk(t *testing.T) {
	src := newFSM(t)
	src.ApplyBatch(logs(batchLog(t, 40), 1))
	snap := snapshotBytes(t, src)

	f, store, mnt := tmpfsFSM(t, 4<<20)
	if err := os.WriteFile(filepath.Join(mnt, "fill"), make([]byte, 3<<20), 0o600); err != nil {
		t.Fatal(err)
	}
	err := f.Restore(io.NopCloser(bytes.NewReader(snap)))
	if !diskspace.IsNoSpace(err) {
		t.Fatalf("restore on a full disk: want a no-space error, got %v", err)
	}
	if _, err := f.Stalled(); err == nil {
		t.Fatal("no alarm after a restore failed for space")
	}
	if err := os.Remove(filepath.Join(mnt, "fill")); err != nil {
		t.Fatal(err)
	}
	if err := f.Restore(io.NopCloser(bytes.NewReader(snap))); err != nil {
		t.Fatalf("restore once space returned: %v", err)
	}
	if _, err := f.Stalled(); err != nil {
		t.Fatalf("alarm still raised after the restore: %v", err)
	}
	seq, hash := store.Head()
	sseq, shash := src.Audit().Head()
	if seq != sseq || hash != shash {
		t.Fatalf("restored head %d, the snapshot's is %d", seq, sseq)
	}
	if n, viol, err := store.Verify(); err != nil || viol != nil || n != sseq {
		t.Fatalf("verify after the restore: %d %v %v", n, viol, err)
	}
}
