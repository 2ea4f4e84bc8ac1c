package checker

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/keyraft/keyraft/jepsen/history"
)

func TestLinearizableClean(t *testing.T) {
	if r := Linearizable(clean().ops, LinearOptions{}); !r.OK() {
		t.Fatalf("clean history rejected:\n%s", r)
	}
}

func TestLinearizableConcurrentAndIndeterminate(t *testing.T) {
	for _, after := range []string{"Enabled", "Disabled"} {
		b := &builder{}
		b.seq(create(keyA))
		// A disable that timed out may or may not have applied: both
		// later readings are linearizable.
		b.at(100, 200, info(onKey(history.DisableKey, keyA)))
		b.at(300, 310, describeOK(keyA, after))
		b.at(320, 330, describeOK(keyA, after))
		b.at(340, 350, onKey(history.EnableKey, keyA))
		// A disable concurrent with an encrypt: the encrypt may go first.
		b.at(400, 500, onKey(history.DisableKey, keyA))
		b.at(390, 450, encryptOK(keyA, 1, "x"))
		if r := Linearizable(b.ops, LinearOptions{}); !r.OK() {
			t.Fatalf("reading %s after an indeterminate disable rejected:\n%s", after, r)
		}
	}
}

func TestLinearizableStaleRead(t *testing.T) {
	b := clean()
	b.seq(onKey(history.DisableKey, keyA))
	b.seq(describeOK(keyA, "Enabled")) // stale: the disable was acknowledged
	dir := t.TempDir()
	r := Linearizable(b.ops, LinearOptions{Dir: dir})
	if r.Verdict != Fail {
		t.Fatalf("stale read accepted:\n%s", r)
	}
	if !strings.Contains(r.Counterexample, "DescribeKey") || !strings.Contains(r.Counterexample, "Disabled") {
		t.Fatalf("counterexample does not show the stale read:\n%s", r.Counterexample)
	}
	if _, err := os.Stat(filepath.Join(dir, "linearizability-g1.html")); err != nil {
		t.Fatalf("no visualisation written: %v", err)
	}
}

func TestLinearizableLostRotation(t *testing.T) {
	b := clean()
	b.seq(onKey(history.RotateKeyOnDemand, keyA))
	b.seq(encryptOK(keyA, 2, "old-version")) // the rotation to v3 was acknowledged
	if r := Linearizable(b.ops, LinearOptions{}); r.Verdict != Fail {
		t.Fatalf("encrypt under a superseded version accepted:\n%s", r)
	}
}

func TestLinearizableAliasStale(t *testing.T) {
	b := clean()
	b.seq(aliasOp(history.UpdateAlias, keyA))
	b.seq(describeAlias(keyB))
	if r := Linearizable(b.ops, LinearOptions{}); r.Verdict != Fail {
		t.Fatalf("alias read of the old target accepted:\n%s", r)
	}
}

func TestLinearizableDeletion(t *testing.T) {
	b := clean()
	b.seq(onKey(history.ScheduleDeletion, keyB))
	b.seq(describeOK(keyB, "PendingDeletion"))
	b.seq(failed(onKey(history.DescribeKey, keyB), "NotFoundException"))
	b.seq(failed(history.Op{Type: history.DescribeKey, In: history.Input{KeyRef: "alias/g1"}}, "NotFoundException"))
	if r := Linearizable(b.ops, LinearOptions{AllowDeletion: true}); !r.OK() {
		t.Fatalf("deletion at the end of the window rejected:\n%s", r)
	}
	if r := Linearizable(b.ops, LinearOptions{}); r.Verdict != Fail {
		t.Fatalf("a key vanished without deletion allowed, and it passed:\n%s", r)
	}
	// A deleted key never comes back.
	b.seq(describeOK(keyB, "PendingDeletion"))
	if r := Linearizable(b.ops, LinearOptions{AllowDeletion: true}); r.Verdict != Fail {
		t.Fatalf("a deleted key reappeared, and it passed:\n%s", r)
	}
}

func TestLinearizableRotationConflict(t *testing.T) {
	b := clean()
	b.seq(failed(onKey(history.RotateKeyOnDemand, keyA), "ConflictException"))
	b.seq(encryptOK(keyA, 2, "still-v2"))
	if r := Linearizable(b.ops, LinearOptions{}); !r.OK() {
		t.Fatalf("a refused rotation counted:\n%s", r)
	}
}

func TestLinearizableIgnoresSealedRefusals(t *testing.T) {
	b := clean()
	b.seq(failed(onKey(history.DisableKey, keyA), "ServiceUnavailableException"))
	b.seq(encryptOK(keyA, 2, "still enabled"))
	if r := Linearizable(b.ops, LinearOptions{}); !r.OK() {
		t.Fatalf("a sealed node's refusal was read as a key state:\n%s", r)
	}
}

// A run's worth of short-lived groups (as the workload makes them: each
// takes ops for a while, with a few indeterminate writes at most, and is
// read once more at the end) checks in seconds. Long-lived groups that
// pile up indeterminate writes do not (see TestLinearizableTimeoutIsUnknown).
func TestLinearizableManyShortGroupsQuick(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var ops []history.Op
	var id int64
	const groups = 200
	for g := range groups {
		// Six groups at a time, each 20 s long, as in a 5-minute run at
		// 60 ops/s: 200 ops each, 8 of their writes indeterminate (the
		// workload's default budget).
		start := int64(g/6) * 20_000 * ms
		ops = append(ops, synthGroup(r, fmt.Sprintf("g%d", g+1), start,
			synthOptions{Ops: 200, Procs: 8, RatePerSec: 10, Indeterminate: 8, SlowFrac: 0.1}, &id)...)
	}
	// Each group within 5 s of porcupine's time, or the verdict is
	// unknown: the budget, not a wall clock, is the test.
	res := Linearizable(ops, LinearOptions{Timeout: 5 * time.Second, AllowDeletion: true})
	if !res.OK() {
		t.Fatalf("synthetic linearizable history rejected:\n%s", res)
	}
	if n := res.Stats["groups"]; n != groups {
		t.Fatalf("checked %v groups, want %d", n, groups)
	}

	// The same history with one stale read in one group fails, naming it.
	bad := slices.Clone(ops)
	for i := range bad {
		if bad[i].Group == "g77" && bad[i].Type == history.DescribeKey && bad[i].Status == history.OK && bad[i].Out.State == "Enabled" {
			bad[i].Out.State = "Disabled"
			break
		}
	}
	res = Linearizable(bad, LinearOptions{Timeout: time.Minute, AllowDeletion: true})
	if res.Verdict != Fail || !strings.Contains(res.Summary, "not linearizable: g77") {
		t.Fatalf("a stale read in g77 was not reported:\n%s", res)
	}
}

// Indeterminate writes multiply porcupine's search: 30 of them on one group,
// ahead of an op no state explains, cannot be decided in time, and the
// verdict is Unknown, which is not a pass.
func TestLinearizableTimeoutIsUnknown(t *testing.T) {
	b := &builder{}
	b.seq(create(keyA))
	b.seq(create(keyB))
	for i := range int64(30) {
		typ := []string{history.DisableKey, history.EnableKey, history.RotateKeyOnDemand}[i%3]
		b.at(100+i, 110+i, info(onKey(typ, []string{keyA, keyB}[i%2])))
	}
	b.at(500, 510, encryptOK(keyA, 99, "no such version"))
	res := Linearizable(b.ops, LinearOptions{Timeout: 300 * time.Millisecond})
	if res.Verdict != Unknown || res.OK() {
		t.Fatalf("want unknown (porcupine out of time), got:\n%s", res)
	}
}
