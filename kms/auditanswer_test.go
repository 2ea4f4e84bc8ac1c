package kms

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/keyraft/keyraft/audit"
)

// TestScheduleKeyDeletionEventNamesTheState: the event a ScheduleKeyDeletion
// carries records the key state it answers, as CloudTrail does and as
// keyraft did before the fsm domain types ("keyState":"PendingDeletion");
// the answer's KeyState is an fsm.KeyState, which the event's response
// elements must not turn into null.
func TestScheduleKeyDeletionEventNamesTheState(t *testing.T) {
	ts := newTestService(t)
	var elements map[string]any
	rec := &audit.Recorder{Event: func(answer any) []byte {
		elements = audit.ResponseElements(answer)
		b, _ := json.Marshal(elements)
		return b
	}}
	body, _ := json.Marshal(map[string]any{})
	res, e := ts.HandleCall(context.Background(), Call{Caller: testRoot, Op: "CreateKey"}, body)
	if e != nil {
		t.Fatal(e)
	}
	id := res.(map[string]any)["KeyMetadata"].(KeyMetadata).KeyId
	body, _ = json.Marshal(map[string]any{"KeyId": id, "PendingWindowInDays": 7})
	if _, e := ts.HandleCall(context.Background(), Call{Caller: testRoot, Op: "ScheduleKeyDeletion", Recorder: rec}, body); e != nil {
		t.Fatal(e)
	}
	if elements["keyState"] != "PendingDeletion" {
		t.Fatalf("ScheduleKeyDeletion's event records keyState %#v, want \"PendingDeletion\" (elements %v)", elements["keyState"], elements)
	}
}
