package checker

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/keyraft/keyraft/jepsen/history"
)

// The log's order bounds each op by its neighbours: a read or a refusal
// only from above, a write that applied from both sides.
func TestWindows(t *testing.T) {
	b := &builder{}
	b.at(0, 10, create(keyA))                                                              // log 1
	first := b.at(100, 150, describeOK(keyA, "Enabled"))                                   // log 2
	write := b.at(120, 900, onKey(history.DisableKey, keyA))                               // log 3
	refused := b.at(130, 800, failed(onKey(history.EnableKey, keyB), "NotFoundException")) // log 4
	read := b.at(140, 700, failed(onKey(history.Encrypt, keyA), "DisabledException"))      // log 5
	applied := b.at(160, 0, info(onKey(history.EnableKey, keyA)))                          // log 6, no answer
	after := b.at(400, 500, describeOK(keyA, "Enabled"))                                   // log 7
	b.at(450, 600, describeOK(keyA, "Enabled"))                                            // log 8
	unsent := b.at(470, 480, info(onKey(history.DisableKey, keyA)))                        // no event
	evs := logOf(b.ops)
	ua := func(id int64) string { return "aws-sdk-go-v2/1.0 " + history.Token(run, id) }
	// The indeterminate enable's event, sixth in the log: it applied.
	evs = append(evs[:5], append([]AuditEvent{{EventName: history.EnableKey, RequestID: "x", UserAgent: ua(applied.ID)}}, evs[5:]...)...)
	got := Windows(b.ops, AuditOptions{Run: run, Nodes: everyNode(rechain(evs))})
	want := map[int64]Window{
		b.ops[0].ID: {By: 150 * ms},                 // the first describe answered after the create's event
		first.ID:    {By: 500 * ms},                 // a read: bounded only from above
		write.ID:    {From: 100 * ms, By: 500 * ms}, // after the describe's call, before `after`'s answer
		refused.ID:  {By: 500 * ms},                 // a refusal: no lower bound
		read.ID:     {By: 500 * ms},
		applied.ID:  {From: 140 * ms, By: 500 * ms}, // applied, unanswered: bounded both ways
		after.ID:    {By: 600 * ms},
	}
	for id, w := range want {
		if got[id] != w {
			t.Errorf("op %d: window %+v, want %+v", id, got[id], w)
		}
	}
	for _, op := range []*history.Op{unsent, &b.ops[7]} {
		if w, ok := got[op.ID]; ok {
			t.Errorf("op %d (no event, or nothing answered after it) got a window: %+v", op.ID, w)
		}
	}
	if got := Windows(b.ops, AuditOptions{Run: run, Nodes: unreadable()}); got != nil {
		t.Fatalf("windows %v without any log", got)
	}
}

// Narrowing finds what the ops' own intervals hide. A disable answered
// late but applied, per the log, before an encrypt that answered early,
// cannot come after an encrypt invoked later still; and an enable applied
// after a call made late cannot explain an encrypt that ended before it.
func TestLinearizableWindowsNarrow(t *testing.T) {
	b := &builder{}
	b.seq(create(keyA))
	b.at(100, 1000, onKey(history.DisableKey, keyA))
	b.at(150, 200, encryptOK(keyA, 1, "before"))
	b.at(300, 400, encryptOK(keyA, 1, "stale"))
	if r := Linearizable(b.ops, LinearOptions{}); !r.OK() {
		t.Fatalf("without the log the disable may come last:\n%s", r)
	}
	w := Windows(b.ops, AuditOptions{Run: run, Nodes: everyNode(logOf(b.ops))})
	r := Linearizable(b.ops, LinearOptions{Windows: w})
	if r.Verdict != Fail || !strings.Contains(r.Counterexample, "DisableKey") || !strings.Contains(r.Counterexample, "DisableKey(11111111) -> ok (by the audit log within [0.100s, 0.200s])") {
		t.Fatalf("an encrypt after a disable the log shows applied accepted:\n%s", r)
	}

	b = &builder{}
	b.seq(create(keyA))
	b.seq(create(keyB))
	b.seq(onKey(history.DisableKey, keyA))
	b.at(150, 200, encryptOK(keyA, 1, "early"))
	b.at(300, 310, describeOK(keyB, "Enabled"))
	b.at(100, 1000, onKey(history.EnableKey, keyA)) // applied after the describe was called
	if r := Linearizable(b.ops, LinearOptions{}); !r.OK() {
		t.Fatalf("without the log the enable may come first:\n%s", r)
	}
	w = Windows(b.ops, AuditOptions{Run: run, Nodes: everyNode(logOf(b.ops))})
	if r := Linearizable(b.ops, LinearOptions{Windows: w}); r.Verdict != Fail {
		t.Fatalf("an encrypt of a disabled key before the enable the log puts after it accepted:\n%s", r)
	}
}

// pausedLeaderGroup is one key group around a leader pause: steady ops,
// then ops that wait out the pause and are all answered as it ends, applied
// in the order the log gives them, then steady ops again. Outcomes follow
// from applying every op at its place in the log, as the cluster does.
func pausedLeaderGroup(r *rand.Rand, hung int) []history.Op {
	keys := []string{keyA, keyB, "33333333-3333-3333-3333-333333333333"}
	alias := "alias/g1"
	m := keyModel{}
	s := groupState{}
	var ops []history.Op
	id := int64(0)
	add := func(op history.Op, invoke, complete int64) {
		id++
		op.ID, op.Group, op.Node, op.Process = id, "g1", "n1", int(id)
		op.InvokeNS, op.CompleteNS = invoke, complete
		op.RequestID = fmt.Sprintf("req-%d", id)
		e := m.predict(s, &op)
		if e.err != "" {
			op.Status, op.Error = history.Fail, e.err
		} else {
			op.Status = history.OK
			if tid, _ := m.target(s, &op); s.find(tid) >= 0 {
				k := s.Keys[s.find(tid)]
				switch op.Type {
				case history.DescribeKey:
					op.Key, op.Out.KeyID, op.Out.State = k.ID, k.ID, k.State
				case history.Encrypt:
					op.Key, op.Out.KeyID, op.Out.Version = k.ID, k.ID, uint32(k.Rotations+1)
				}
			}
			s = e.next
		}
		ops = append(ops, op)
	}
	now := int64(0)
	for _, k := range keys {
		add(history.Op{Type: history.CreateKey, Key: k, Out: history.Output{KeyID: k}}, now, now+5*ms)
		now += 10 * ms
	}
	add(history.Op{Type: history.CreateAlias, In: history.Input{Alias: alias, TargetKey: keys[0]}}, now, now+5*ms)
	now += 10 * ms
	randomOp := func() history.Op {
		k := keys[r.IntN(len(keys))]
		switch r.IntN(6) {
		case 0:
			return history.Op{Type: history.UpdateAlias, Key: k, In: history.Input{Alias: alias, TargetKey: k}}
		case 1:
			return onKey(history.DisableKey, k)
		case 2:
			return onKey(history.EnableKey, k)
		case 3:
			op := onKey(history.DescribeKey, k)
			op.In.KeyRef = alias
			return op
		case 4:
			return onKey(history.Encrypt, k)
		}
		return onKey(history.DescribeKey, k)
	}
	steady := func(n int) {
		for range n {
			add(randomOp(), now, now+5*ms)
			now += 50 * ms
		}
	}
	steady(20)
	// The pause: each hung op was called during it, and all are answered
	// as it ends; they apply (and are logged) in an order of their own.
	pause, end := now, now+2500*ms
	for i := range hung {
		add(randomOp(), pause+r.Int64N(2400*ms), end+int64(i)*ms/4)
	}
	now = end + 100*ms
	steady(20)
	return ops
}

// A leader pause leaves a group with many ops that overlap each other and
// every op around them. Porcupine alone must try their orders: with a 2 s
// budget it could not decide rounds 2 and 3 of these five, and took 1.4 s
// on round 4. With the log's order the writes among them fall into place;
// without the lower bound (From) round 2 still ran out of 10 s.
func TestLinearizableWindowsQuick(t *testing.T) {
	r := rand.New(rand.NewPCG(116874181, 1))
	for round := range 5 {
		ops := pausedLeaderGroup(r, 30)
		w := Windows(ops, AuditOptions{Run: run, Nodes: everyNode(logOf(ops))})
		if res := Linearizable(ops, LinearOptions{Timeout: 10 * time.Second, Windows: w}); !res.OK() {
			t.Fatalf("round %d: the log's own order rejected:\n%s", round, res)
		}
	}
}
