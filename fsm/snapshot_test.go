package fsm

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	"google.golang.org/protobuf/proto"

	"github.com/keyraft/keyraft/audit"
	"github.com/keyraft/keyraft/fsm/fsmpb"
)

// newFSMAt is newFSM with the audit store in a directory the test can look at.
func newFSMAt(t testing.TB) (*FSM, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "audit")
	store, err := audit.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	return New(store), dir
}

// segmentFiles maps each segment file in dir to what Stat says of it.
func segmentFiles(t *testing.T, dir string) map[string]os.FileInfo {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]os.FileInfo{}
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".seg") {
			fi, err := os.Stat(filepath.Join(dir, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			out[e.Name()] = fi
		}
	}
	return out
}

func restoreBytes(t *testing.T, f *FSM, b []byte) {
	t.Helper()
	if err := f.Restore(io.NopCloser(bytes.NewReader(b))); err != nil {
		t.Fatal(err)
	}
}

// TestRestoreKeepsALogThatHoldsTheSnapshot is a restart: the store is
// ahead of the newest snapshot. Restore keeps its files as they are (no
// rewrite), Raft's replay of the entries after the snapshot adds nothing
// twice, and the node ends where one that never stopped is.
func TestRestoreKeepsALogThatHoldsTheSnapshot(t *testing.T) {
	log := commandLog(t)
	mid := len(log) / 2
	a, dir := newFSMAt(t)
	applyAll(a, log[:mid], 1)
	snap := snapshotBytes(t, a)
	applyAll(a, log[mid:], uint64(mid)+1)
	before := segmentFiles(t, dir)
	head, hash := a.Audit().Head()
	index := a.Audit().Index()

	restoreBytes(t, a, snap)
	if a.AppliedIndex() != uint64(mid) {
		t.Fatalf("applied index %d after restoring the snapshot at %d", a.AppliedIndex(), mid)
	}
	after := segmentFiles(t, dir)
	if len(after) != len(before) {
		t.Fatalf("%d segments before the restore, %d after", len(before), len(after))
	}
	for name, fi := range before {
		if !os.SameFile(fi, after[name]) || fi.Size() != after[name].Size() {
			t.Fatalf("segment %s was rewritten", name)
		}
	}
	if h, hh := a.Audit().Head(); h != head || hh != hash || a.Audit().Index() != index {
		t.Fatalf("head %d index %d after the restore, want %d and %d", h, a.Audit().Index(), head, index)
	}

	applyAll(a, log[mid:], uint64(mid)+1)
	whole := newFSM(t)
	applyAll(whole, log, 1)
	if !bytes.Equal(snapshotBytes(t, a), snapshotBytes(t, whole)) {
		t.Fatal("the restarted node diverged from one that never stopped")
	}
}

// TestRestoreReplacesALogThatDoesNot: a store behind the snapshot, and one
// whose chain is another at the same sequence numbers, get the snapshot's
// log, and then follow the rest of the Raft log like everyone else.
func TestRestoreReplacesALogThatDoesNot(t *testing.T) {
	log := commandLog(t)
	src := newFSM(t)
	mid := 0 // the first entry after which the log holds events: the chain can tell "apart"
	for h := uint64(0); h == 0; h, _ = src.Audit().Head() {
		applyAll(src, log[mid:mid+1], uint64(mid)+1)
		mid++
	}
	snap := snapshotBytes(t, src)
	whole := newFSM(t)
	applyAll(whole, log, 1)
	want := snapshotBytes(t, whole)

	behind := newFSM(t)
	applyAll(behind, log[:mid-1], 1)

	apart := newFSM(t)
	var other [][]byte
	for i := range 20 {
		other = append(other, []byte(fmt.Sprintf(`{"eventName":"Other","n":%d}`, i)))
	}
	applyAll(apart, [][]byte{encode(t, CmdAuditBatch, &fsmpb.AuditBatch{Events: other}, time.Now().UnixNano())}, 1)
	if h, _ := apart.Audit().Head(); h < 14 {
		t.Fatalf("the other chain is %d events long; it must reach past the snapshot's head", h)
	}

	for name, f := range map[string]*FSM{"behind": behind, "apart": apart} {
		restoreBytes(t, f, snap)
		sh, shash := src.Audit().Head()
		if h, hash := f.Audit().Head(); h != sh || hash != shash || f.Audit().Index() != uint64(mid) {
			t.Fatalf("%s: head %d index %d, want the snapshot's %d at %d", name, h, f.Audit().Index(), sh, mid)
		}
		applyAll(f, log[mid:], uint64(mid)+1)
		if !bytes.Equal(snapshotBytes(t, f), want) {
			t.Fatalf("%s: diverged after the restore", name)
		}
	}
}

// restoreSeeds are snapshots of a small log with audit batches and a trim,
// whole and cut, and of an empty state machine.
func restoreSeeds(tb testing.TB) [][]byte {
	src := newFSM(tb)
	snap := func() []byte { return snapshotBytes(tb, src) }
	empty := snap()
	ts := time.Unix(1_700_000_000, 0)
	var cmds [][]byte
	for _, c := range []struct {
		ct CommandType
		m  proto.Message
	}{
		{CmdInit, &fsmpb.Init{Shares: 1, Threshold: 1, SealedKeyring: []byte("k"), RootAccessKey: &fsmpb.AccessKey{AccessKeyId: "AKIAROOT"}}},
		{CmdAuditBatch, &fsmpb.AuditBatch{Events: [][]byte{[]byte(`{"eventName":"Encrypt"}`), []byte(`{"eventName":"Decrypt"}`)}}},
		{CmdAuditBatch, &fsmpb.AuditBatch{Events: [][]byte{[]byte(`{"eventName":"Sign"}`)}}},
		{CmdAuditTrim, &fsmpb.AuditTrim{BeforeSeq: 2, Event: []byte(`{"eventName":"AuditTrim"}`)}},
	} {
		b, err := NewCommand(c.ct, c.m, ts)
		if err != nil {
			tb.Fatal(err)
		}
		cmds = append(cmds, b)
	}
	for i, b := range cmds {
		src.Apply(&raft.Log{Index: uint64(i) + 1, Type: raft.LogCommand, Data: b})
	}
	whole := snap()
	return [][]byte{empty, whole, whole[:len(whole)-20]}
}

// FuzzRestore: no stream makes Restore panic, and a stream it accepts
// leaves an audit log that verifies.
func FuzzRestore(f *testing.F) {
	for _, s := range restoreSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		dst := newFSM(t)
		if err := dst.Restore(io.NopCloser(bytes.NewReader(data))); err != nil {
			return
		}
		if _, viol, err := dst.Audit().Verify(); err != nil || viol != nil {
			t.Fatalf("restore accepted a log that does not verify: %v %v", viol, err)
		}
	})
}
