package kms

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/keyraft/keyraft/audit"
	"github.com/keyraft/keyraft/fsm"
	"github.com/keyraft/keyraft/internal/awserr"
)

// TestWriteCarriesItsEvent: with a Recorder, a write proposes one command
// that carries the request's event (with the answer it will give), and the
// Recorder says Recorded; a refused write carries nothing into the log; a
// read proposes nothing; a proposal that fails is Indeterminate.
func TestWriteCarriesItsEvent(t *testing.T) {
	ts := newTestService(t)
	var carried [][]byte
	propose := ts.Propose
	ts.Propose = func(ctx context.Context, cmd []byte) (fsm.Result, error) {
		c, err := fsm.DecodeCommand(cmd)
		if err != nil {
			t.Fatal(err)
		}
		carried = append(carried, c.AuditEvent)
		return propose(ctx, cmd)
	}
	run := func(op string, in any) (*audit.Recorder, map[string]any, *awserr.Error) {
		t.Helper()
		carried = nil
		rec := &audit.Recorder{Event: func(answer any) []byte {
			b, _ := json.Marshal(map[string]any{"eventName": op, "answer": answer})
			return b
		}}
		body, _ := json.Marshal(in)
		res, e := ts.HandleCall(context.Background(), Call{Caller: testRoot, Op: op, Recorder: rec}, body)
		m, _ := res.(map[string]any)
		return rec, m, e
	}

	rec, res, e := run("CreateKey", map[string]any{})
	if e != nil || rec.Outcome() != audit.Recorded || len(carried) != 1 || len(carried[0]) == 0 {
		t.Fatalf("CreateKey: %v, outcome %d, %d commands", e, rec.Outcome(), len(carried))
	}
	var ev struct {
		Answer struct{ KeyMetadata struct{ KeyId string } }
	}
	if err := json.Unmarshal(carried[0], &ev); err != nil || ev.Answer.KeyMetadata.KeyId == "" {
		t.Fatalf("the carried event lacks the answer: %s", carried[0])
	}
	id := res["KeyMetadata"].(KeyMetadata).KeyId

	rec, _, e = run("RotateKeyOnDemand", map[string]any{"KeyId": id})
	if e != nil || rec.Outcome() != audit.Recorded || len(carried) != 1 {
		t.Fatalf("RotateKeyOnDemand: %v, outcome %d, %d commands", e, rec.Outcome(), len(carried))
	}
	rec, _, e = run("Encrypt", map[string]any{"KeyId": id, "Plaintext": []byte("x")})
	if e != nil || rec.Outcome() != audit.NotCarried || len(carried) != 0 {
		t.Fatalf("Encrypt: %v, outcome %d, %d commands", e, rec.Outcome(), len(carried))
	}
	if rec, _, e = run("ScheduleKeyDeletion", map[string]any{"KeyId": id, "PendingWindowInDays": 7}); e != nil || rec.Outcome() != audit.Recorded {
		t.Fatalf("ScheduleKeyDeletion: %v, outcome %d", e, rec.Outcome())
	}
	// Refused by the FSM (a key pending deletion cannot be disabled).
	rec, _, e = run("DisableKey", map[string]any{"KeyId": id})
	if e == nil || rec.Outcome() != audit.NotCarried {
		t.Fatalf("DisableKey of a key pending deletion: %v, outcome %d", e, rec.Outcome())
	}
	ts.Propose = func(context.Context, []byte) (fsm.Result, error) { return fsm.Result{}, errors.New("leadership lost") }
	rec, _, e = run("CancelKeyDeletion", map[string]any{"KeyId": id})
	if e == nil || rec.Outcome() != audit.Indeterminate {
		t.Fatalf("CancelKeyDeletion with a failed proposal: %v, outcome %d", e, rec.Outcome())
	}
}
