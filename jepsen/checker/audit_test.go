package checker

import (
	"fmt"
	"strings"
	"testing"

	"github.com/keyraft/keyraft/jepsen/history"
)

const run = "r1"

// logOf builds the audit log the cluster should hold for a history: one
// event per answered op, in completion order.
func logOf(ops []history.Op) []AuditEvent {
	var evs []AuditEvent
	for _, op := range ops {
		if op.RequestID == "" {
			continue
		}
		ev := AuditEvent{EventName: op.Type, RequestID: op.RequestID, Key: op.Key,
			UserAgent: "aws-sdk-go-v2/1.0 " + history.Token(run, op.ID)}
		if op.Status != history.OK {
			ev.ErrorCode = op.Error
		}
		evs = append(evs, ev)
	}
	return rechain(evs)
}

// rechain renumbers events and gives them fake chained hashes.
func rechain(evs []AuditEvent) []AuditEvent {
	prev := ""
	for i := range evs {
		evs[i].Seq = uint64(i + 1)
		evs[i].Prev = prev
		evs[i].Hash = fmt.Sprintf("h%d-%s-%s", i+1, evs[i].RequestID, prev)
		prev = evs[i].Hash
	}
	return evs
}

// unreadable is three nodes none of whose logs could be read.
func unreadable() []NodeAudit {
	out := everyNode(nil)
	for i := range out {
		out[i].Err = "connection refused"
	}
	return out
}

func everyNode(evs []AuditEvent) []NodeAudit {
	var out []NodeAudit
	for _, n := range nodes3 {
		out = append(out, NodeAudit{Node: n, Events: evs, Verified: true})
	}
	return out
}

func TestAuditClean(t *testing.T) {
	b := clean()
	b.seq(info(onKey(history.DisableKey, keyB))) // no answer, no event: fine
	if r := AuditComplete(b.ops, AuditOptions{Run: run, Nodes: everyNode(logOf(b.ops))}); !r.OK() {
		t.Fatalf("clean history rejected:\n%s", r)
	}
}

func TestAuditMissingEvent(t *testing.T) {
	b := clean()
	evs := logOf(b.ops)
	evs = rechain(append(evs[:4:4], evs[5:]...))
	r := AuditComplete(b.ops, AuditOptions{Run: run, Nodes: everyNode(evs)})
	if r.Verdict != Fail || !strings.Contains(r.Counterexample, "no committed event") {
		t.Fatalf("missing event accepted:\n%s", r)
	}
}

func TestAuditDuplicatedEvent(t *testing.T) {
	b := clean()
	evs := logOf(b.ops)
	dup := evs[3]
	dup.RequestID = "another-request-id" // the leader executed one request twice
	evs = rechain(append(evs, dup))
	r := AuditComplete(b.ops, AuditOptions{Run: run, Nodes: everyNode(evs)})
	if r.Verdict != Fail || !strings.Contains(r.Counterexample, "executed twice") {
		t.Fatalf("duplicated event accepted:\n%s", r)
	}
}

func TestAuditPhantomAndWrongOutcome(t *testing.T) {
	b := clean()
	evs := logOf(b.ops)
	evs = append(evs, AuditEvent{EventName: "DisableKey", RequestID: "zzz", UserAgent: history.Token(run, 999)})
	evs[2].ErrorCode = "DisabledException" // an ok encrypt recorded as refused
	r := AuditComplete(b.ops, AuditOptions{Run: run, Nodes: everyNode(rechain(evs))})
	if r.Verdict != Fail || !strings.Contains(r.Counterexample, "phantom") || !strings.Contains(r.Counterexample, "errorCode") {
		t.Fatalf("phantom or wrong outcome accepted:\n%s", r)
	}
}

func TestAuditNodesDisagree(t *testing.T) {
	b := clean()
	evs := logOf(b.ops)
	nodes := everyNode(evs)
	forked := append([]AuditEvent(nil), evs...)
	forked[5].Hash = "forked"
	nodes[1].Events = forked
	nodes[2].Events = evs[:len(evs)-2]
	nodes[2].Verified, nodes[2].Violation = false, "audit chain broken at event 3"
	r := AuditComplete(b.ops, AuditOptions{Run: run, Nodes: nodes})
	for _, want := range []string{"n2 diverges", "n3 holds", "does not verify"} {
		if r.Verdict != Fail || !strings.Contains(r.Counterexample, want) {
			t.Fatalf("want %q in:\n%s", want, r)
		}
	}
}

func TestAuditRealTimeOrder(t *testing.T) {
	b := clean()
	evs := logOf(b.ops)
	evs[3], evs[4] = evs[4], evs[3] // sequential ops, events swapped
	r := AuditComplete(b.ops, AuditOptions{Run: run, Nodes: everyNode(rechain(evs))})
	if r.Verdict != Fail || !strings.Contains(r.Counterexample, "real-time order") {
		t.Fatalf("reordered events accepted:\n%s", r)
	}
}

func TestAuditRotationWithoutEvent(t *testing.T) {
	b := clean()
	b.seq(info(onKey(history.RotateKeyOnDemand, keyA))) // applied, never audited
	rot := onKey(history.ListKeyRotations, keyA)
	rot.Out.Count = 2
	b.seq(rot)
	r := AuditComplete(b.ops, AuditOptions{Run: run, Nodes: everyNode(logOf(b.ops))})
	if r.Verdict != Fail || !strings.Contains(r.Counterexample, "2 rotations") {
		t.Fatalf("unaudited rotation accepted:\n%s", r)
	}
}

func TestParseAuditEvents(t *testing.T) {
	in := `{"keyraftSequence":7,"keyraftPrevHash":"aa","keyraftHash":"bb","eventName":"Encrypt","requestID":"r-1","userAgent":"x jepsen/r1-42","requestParameters":{"keyId":"alias/a"},"resources":[{"ARN":"arn:aws:kms:us-east-1:111122223333:key/` + keyA + `"}]}
{"keyraftSequence":8,"keyraftPrevHash":"bb","keyraftHash":"cc","eventName":"EnableKey","errorCode":"NotFoundException","requestID":"r-2","requestParameters":{"keyId":"` + keyB + `"}}
`
	evs, err := ParseAuditEvents(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 2 || evs[0].Key != keyA || evs[1].Key != keyB || evs[1].ErrorCode != "NotFoundException" || evs[0].Seq != 7 {
		t.Fatalf("%+v", evs)
	}
	if id, ok := tokenOf(evs[0].UserAgent, "r1"); !ok || id != 42 {
		t.Fatalf("token %d %v", id, ok)
	}
}
