package checker

import (
	"strings"
	"testing"
	"time"

	"github.com/keyraft/keyraft/jepsen/history"
)

// A write answered 503 with a request id must have its event: keyraft
// (a15b934) sends no id when the write's outcome is unknown. f15b12b did,
// and seed 391472734's replay reported exactly this.
func TestAuditWriteAnswered503WithoutEvent(t *testing.T) {
	b := clean()
	w := b.seq(info(onKey(history.DisableKey, keyB)))
	w.Error, w.RequestID = "ServiceUnavailableException", "req-503-write"
	evs := logOf(b.ops)
	evs = evs[:len(evs)-1] // the 503'd write's event never committed
	r := AuditComplete(b.ops, AuditOptions{Run: run, Nodes: everyNode(evs)})
	if r.Verdict != Fail || !strings.Contains(r.Counterexample, "req-503-write") {
		t.Fatalf("a 503 with the id of an event that never committed accepted:\n%s", r)
	}
}

func TestUnapplied(t *testing.T) {
	b := clean()
	none := b.seq(info(onKey(history.DisableKey, keyA)))          // no event: never applied
	applied := b.seq(info(onKey(history.EnableKey, keyA)))        // its event committed: applied
	refused := b.seq(info(onKey(history.ScheduleDeletion, keyA))) // its event is a refusal
	retry := b.seq(info(onKey(history.RotateKeyOnDemand, keyA)))  // its event is a retryable error
	read := b.seq(info(onKey(history.Encrypt, keyA)))             // not a write
	evs := logOf(b.ops)
	ua := func(id int64) string { return "aws-sdk-go-v2/1.0 " + history.Token(run, id) }
	evs = append(evs,
		AuditEvent{EventName: history.EnableKey, RequestID: "x1", UserAgent: ua(applied.ID)},
		AuditEvent{EventName: history.ScheduleDeletion, RequestID: "x2", UserAgent: ua(refused.ID), ErrorCode: "KMSInvalidStateException"},
		AuditEvent{EventName: history.RotateKeyOnDemand, RequestID: "x3", UserAgent: ua(retry.ID), ErrorCode: "ServiceUnavailableException"})
	got := Unapplied(b.ops, AuditOptions{Run: run, Nodes: everyNode(rechain(evs))})
	want := map[int64]bool{none.ID: true, refused.ID: true}
	if len(got) != len(want) || !got[none.ID] || !got[refused.ID] {
		t.Fatalf("Unapplied = %v, want %v (applied %d, retryable %d, read %d stay open)", got, want, applied.ID, retry.ID, read.ID)
	}
	if got := Unapplied(b.ops, AuditOptions{Run: run, Nodes: unreadable()}); got != nil {
		t.Fatalf("resolved %v without any log", got)
	}
}

// Leaving out writes the log shows never applied only narrows the search:
// a disable that timed out without an event cannot explain a later
// Disabled read (a change that committed without its event, the bug
// f15b12b fixed, fails the check), and with an event it still can.
func TestLinearizableUnappliedNarrows(t *testing.T) {
	b := &builder{}
	b.seq(create(keyA))
	d := b.seq(info(onKey(history.DisableKey, keyA)))
	b.seq(describeOK(keyA, "Disabled"))
	if r := Linearizable(b.ops, LinearOptions{}); !r.OK() {
		t.Fatalf("an open disable explaining a Disabled read rejected:\n%s", r)
	}
	r := Linearizable(b.ops, LinearOptions{Unapplied: map[int64]bool{d.ID: true}})
	if r.Verdict != Fail || !strings.Contains(r.Counterexample, "DescribeKey") {
		t.Fatalf("a Disabled read after the only disable never applied accepted:\n%s", r)
	}
}

// The history of TestLinearizableTimeoutIsUnknown, which porcupine cannot
// decide in time with 30 open writes, is decided at once when the audit
// log shows they never applied (and, without them, it is illegal: its
// encrypt names a version no rotation made).
func TestLinearizableUnappliedIsQuick(t *testing.T) {
	b := &builder{}
	b.seq(create(keyA))
	b.seq(create(keyB))
	unapplied := map[int64]bool{}
	for i := range int64(30) {
		typ := []string{history.DisableKey, history.EnableKey, history.RotateKeyOnDemand}[i%3]
		unapplied[b.at(100+i, 110+i, info(onKey(typ, []string{keyA, keyB}[i%2]))).ID] = true
	}
	b.at(500, 510, encryptOK(keyA, 99, "no such version"))
	res := Linearizable(b.ops, LinearOptions{Timeout: 300 * time.Millisecond, Unapplied: unapplied})
	if res.Verdict != Fail {
		t.Fatalf("want a fail within porcupine's 300 ms, got:\n%s", res)
	}
}
