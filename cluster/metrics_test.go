package cluster

import (
	"testing"

	"github.com/hashicorp/raft"

	"github.com/keyraft/keyraft/audit"
	"github.com/keyraft/keyraft/fsm"
	"github.com/keyraft/keyraft/metrics"
)

// TestTimedFSM: raft is given the FSM timed when metrics are on, keeping
// its batching; every Apply and ApplyBatch is timed and its entries
// counted, and the results are the FSM's own.
func TestTimedFSM(t *testing.T) {
	store, err := audit.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	f := fsm.New(store)
	if got := (&Node{cfg: Config{FSM: f}}).raftFSM(); got != raft.FSM(f) {
		t.Fatalf("without metrics raft is given %T", got)
	}
	m := metrics.New()
	timed := (&Node{cfg: Config{FSM: f, Metrics: m.Raft}}).raftFSM()
	b, ok := timed.(raft.BatchingFSM)
	if !ok {
		t.Fatalf("the timed FSM %T lost ApplyBatch", timed)
	}
	if r := timed.Apply(&raft.Log{Index: 1, Type: raft.LogNoop}); r != nil {
		t.Fatalf("a no-op applied to %v", r)
	}
	out := b.ApplyBatch([]*raft.Log{{Index: 2, Type: raft.LogNoop}, {Index: 3, Type: raft.LogBarrier}})
	if len(out) != 2 {
		t.Fatalf("%d results for 2 entries", len(out))
	}
	if got := m.Sample("keyraft_raft_fsm_apply_seconds", nil); got != 2 {
		t.Errorf("%v applies timed, want 2", got)
	}
	if got := m.Sample("keyraft_raft_fsm_applied_entries_total", nil); got != 3 {
		t.Errorf("%v entries counted, want 3", got)
	}
}
