package checker

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

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
