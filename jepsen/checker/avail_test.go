package checker

import (
	"testing"
	"time"

	"github.com/keyraft/keyraft/jepsen/history"
)

func steady(b *builder, from, to int64) {
	for t := from; t < to; t += 100 {
		b.at(t, t+20, describeOK(keyA, "Enabled"))
	}
}

func TestAvailability(t *testing.T) {
	b := &builder{}
	steady(b, 0, 5000)
	steady(b, 7000, 12000) // 2 s without a success after the kill at 5 s
	kill := history.Fault{Kind: "kill", Target: "leader", Nodes: []string{"n1"}, Leader: "n1", StartNS: 5000 * ms, EndNS: 6000 * ms}
	r := Availability(b.ops, []history.Fault{kill}, AvailOptions{})
	if !r.OK() {
		t.Fatalf("a 2 s recovery rejected:\n%s", r)
	}
	fs := r.Stats["faults"].([]FaultStat)
	if fs[0].Recovery < 1.9 || fs[0].Recovery > 2.1 || fs[0].LongestGap < 1.9 {
		t.Fatalf("recovery measured as %+v", fs[0])
	}
	if rate := r.Stats["ok_per_second"].([]int); rate[1] != 10 || rate[5] != 0 {
		t.Fatalf("rate %v", rate)
	}
	r = Availability(b.ops, []history.Fault{kill}, AvailOptions{MaxRecovery: time.Second})
	if r.Verdict != Fail {
		t.Fatalf("a 2 s recovery passed a 1 s limit:\n%s", r)
	}
}

func TestAvailabilityNoRecoveryAtEnd(t *testing.T) {
	b := &builder{}
	steady(b, 0, 5000)
	b.at(5000, 15000, info(describeOK(keyA, "Enabled")))
	if r := Availability(b.ops, nil, AvailOptions{}); r.Verdict != Fail {
		t.Fatalf("a cluster that never recovered passed:\n%s", r)
	}
}

// Recovery counts from when the fault took effect, not from when the
// nemesis began it: the old leader's answers in between are no recovery.
func TestAvailabilityRecoveryFromApplied(t *testing.T) {
	b := &builder{}
	steady(b, 0, 5300) // the leader serves until the kill lands at 5.3 s
	steady(b, 7300, 12000)
	kill := history.Fault{Kind: "kill", Target: "leader", Nodes: []string{"n1"}, Leader: "n1",
		StartNS: 5000 * ms, AppliedNS: 5300 * ms, EndNS: 6000 * ms}
	r := Availability(b.ops, []history.Fault{kill}, AvailOptions{})
	fs := r.Stats["faults"].([]FaultStat)
	if fs[0].Recovery < 1.9 || fs[0].Recovery > 2.1 {
		t.Fatalf("recovery measured as %.2fs, want 2.0s from the kill taking effect", fs[0].Recovery)
	}
}
