package checker

import (
	"testing"

	"github.com/keyraft/keyraft/jepsen/history"
)

func TestSealedSilent(t *testing.T) {
	b := &builder{}
	steady(b, 0, 3000) // on n1
	seal := history.Fault{Kind: "seal", Nodes: []string{"n1"}, StartNS: 1000 * ms, AppliedNS: 1050 * ms, HealNS: 2000 * ms, EndNS: 2100 * ms}
	for i := range b.ops {
		if op := &b.ops[i]; op.InvokeNS > seal.AppliedNS && op.CompleteNS < seal.HealNS {
			op.Status, op.Error = history.Fail, "ServiceUnavailableException"
		}
	}
	if r := SealedSilent(b.ops, []history.Fault{seal}); !r.OK() || r.Stats["ops_to_sealed_nodes"] == 0 {
		t.Fatalf("refusals while sealed rejected:\n%s", r)
	}
	b.at(1500, 1510, describeOK(keyA, "Enabled")) // n1 answered while sealed
	if r := SealedSilent(b.ops, []history.Fault{seal}); r.Verdict != Fail {
		t.Fatalf("a sealed node's success accepted:\n%s", r)
	}
}
