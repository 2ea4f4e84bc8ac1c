package kms

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"testing"
	"time"

	"github.com/keyraft/keyraft/audit"
	"github.com/keyraft/keyraft/fsm"
)

// withAuditStore moves the test service onto an FSM with an audit store
// (the default harness has none), so audit batches apply as on a server.
func (ts *testService) withAuditStore(tb testing.TB) {
	tb.Helper()
	store, err := audit.Open(tb.TempDir())
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { store.Close() })
	s, err := ts.machine.Snapshot()
	if err != nil {
		tb.Fatal(err)
	}
	sink := &memSink{}
	if err := s.Persist(sink); err != nil {
		tb.Fatal(err)
	}
	m := fsm.New(store)
	if err := m.Restore(io.NopCloser(bytes.NewReader(sink.Bytes()))); err != nil {
		tb.Fatal(err)
	}
	ts.machine, ts.Service.State = m, m.Query()
}

// commitEvents commits an audit batch as the leader's batcher does.
func (ts *testService) commitEvents(tb testing.TB, events ...*audit.Event) {
	tb.Helper()
	var raw [][]byte
	for _, ev := range events {
		b, err := json.Marshal(ev)
		if err != nil {
			tb.Fatal(err)
		}
		raw = append(raw, b)
	}
	cmd, err := fsm.NewAuditBatchCommand(raw, time.Now())
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := ts.apply(context.Background(), cmd); err != nil {
		tb.Fatal(err)
	}
}

// TestGetKeyLastUsage: the answer comes from the audit events committed
// for the key, without a write of its own; kms:GetKeyLastUsage is a key
// policy permission no grant gives; aliases are refused, as AWS does.
func TestGetKeyLastUsage(t *testing.T) {
	ts := newTestService(t)
	ts.withAuditStore(t)
	id, keyARN := ts.newKey(t)
	k, _ := ts.State.Key(id)

	before := ts.snapshot(t)
	out := ts.mustCall(t, "GetKeyLastUsage", map[string]any{"KeyId": keyARN})
	if !bytes.Equal(before, ts.snapshot(t)) {
		t.Fatal("GetKeyLastUsage changed the replicated state")
	}
	created := epochOf(k.CreationDate)
	if out["KeyId"] != id || out["KeyCreationDate"] != created || out["TrackingStartDate"] != created {
		t.Fatalf("unused key: %v (created %v)", out, created)
	}
	if lu, ok := out["KeyLastUsage"].(map[string]any); !ok || len(lu) != 0 {
		t.Fatalf("unused key: KeyLastUsage %v, want an empty object", out["KeyLastUsage"])
	}

	// The key is used; its event, and a failed one after it, commit.
	ts.mustCall(t, "Encrypt", map[string]any{"KeyId": id, "Plaintext": []byte("p")})
	at := time.Date(2026, 12, 3, 17, 0, 0, 250e6, time.UTC)
	ev := func(name, eventID, errorCode string) *audit.Event {
		return &audit.Event{EventVersion: audit.EventVersion, EventTime: at.Format(time.RFC3339Nano),
			EventSource: audit.EventSource, EventName: name, EventType: "AwsApiCall", ErrorCode: errorCode,
			RequestID: "req-" + eventID, EventID: eventID, ReadOnly: true,
			Resources: []audit.Resource{{ARN: keyARN, AccountID: ts.Account, Type: "AWS::KMS::Key"}}}
	}
	ts.commitEvents(t, ev("Encrypt", "ev-1", ""), ev("Decrypt", "ev-2", "InvalidCiphertextException"), ev("DescribeKey", "ev-3", ""))
	out = ts.mustCall(t, "GetKeyLastUsage", map[string]any{"KeyId": id})
	want := map[string]any{"Timestamp": epochOf(at), "Operation": "Encrypt", "CloudTrailEventId": "ev-1", "KmsRequestId": "req-ev-1"}
	lu, _ := out["KeyLastUsage"].(map[string]any)
	for name, v := range want {
		if lu[name] != v {
			t.Fatalf("KeyLastUsage %v, want %v", lu, want)
		}
	}

	// Not by grant: AWS has no GetKeyLastUsage grant operation.
	alice := testUser("alice")
	ts.refusedAs(t, alice, "GetKeyLastUsage", map[string]any{"KeyId": id}, "AccessDeniedException")
	ts.grant(t, id, alice, []string{"DescribeKey", "Encrypt", "Decrypt"}, nil)
	ts.refusedAs(t, alice, "GetKeyLastUsage", map[string]any{"KeyId": id}, "AccessDeniedException")
	ts.mustCall(t, "PutKeyPolicy", map[string]any{"KeyId": id, "Policy": `{"Version":"2012-10-17","Statement":[` +
		`{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"kms:*","Resource":"*"},` +
		`{"Effect":"Allow","Principal":{"AWS":"` + alice.PrincipalARN + `"},"Action":"kms:GetKeyLastUsage","Resource":"*"}]}`})
	if _, e := ts.callAs(t, alice, "GetKeyLastUsage", map[string]any{"KeyId": id}); e != nil {
		t.Fatalf("allowed by the key policy: %v", e)
	}

	// Every key state answers; aliases, missing keys and no key do not.
	ts.mustCall(t, "DisableKey", map[string]any{"KeyId": id})
	ts.mustCall(t, "GetKeyLastUsage", map[string]any{"KeyId": id})
	ts.mustCall(t, "CreateAlias", map[string]any{"AliasName": "alias/used", "TargetKeyId": id})
	ts.refused(t, "GetKeyLastUsage", map[string]any{"KeyId": "alias/used"}, "NotFoundException", "")
	ts.refused(t, "GetKeyLastUsage", map[string]any{"KeyId": missingKeyID}, "NotFoundException", "")
	ts.refused(t, "GetKeyLastUsage", map[string]any{}, "ValidationException", "")
}
