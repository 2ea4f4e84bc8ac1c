package fsm

import (
	"testing"
	"time"

	"github.com/hashicorp/raft"
	"google.golang.org/protobuf/proto"

	"github.com/keyraft/keyraft/audit"
	"github.com/keyraft/keyraft/fsm/fsmpb"
)

// TestChangeCarriesItsEvent is the regression test for the jepsen finding
// "a key change can commit without its audit event": a write used to commit
// its change and its event as two entries, and a leader deposed between
// them left the change unaudited. Now the command carries the event and
// Apply records it at the command's own index when, and only when, the
// command changes state.
func TestChangeCarriesItsEvent(t *testing.T) {
	f := newFSM(t)
	ts := time.Unix(1_700_000_000, 0)
	var index uint64
	apply := func(ct CommandType, payload any, event string) any {
		t.Helper()
		index++
		var ev []byte
		if event != "" {
			ev = []byte(event)
		}
		cmd, err := NewAuditedCommand(ct, payload.(proto.Message), ts, ev)
		if err != nil {
			t.Fatal(err)
		}
		return f.ApplyBatch([]*raft.Log{{Index: index, Type: raft.LogCommand, Data: cmd}})[0]
	}
	events := func() []string {
		var out []string
		err := f.Audit().Read(func(v *audit.View) error {
			return v.Each(0, func(r audit.Record) (bool, error) {
				out = append(out, string(r.Event))
				return true, nil
			})
		})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}

	apply(CmdInit, &fsmpb.Init{Shares: 1, Threshold: 1, SealedKeyring: []byte("kr"), RootAccessKey: &fsmpb.AccessKey{AccessKeyId: "AKIA"}}, "")
	if res := apply(CmdCreateKey, &fsmpb.CreateKey{Key: testKey("k1", ts.UnixNano())}, `{"eventName":"CreateKey"}`); res != nil {
		t.Fatalf("create: %v", res)
	}
	if res := apply(CmdSetKeyEnabled, &fsmpb.SetKeyEnabled{KeyId: "k1", Enabled: false}, `{"eventName":"DisableKey"}`); res != nil {
		t.Fatalf("disable: %v", res)
	}
	// Refused: no change, so no event from the command (the server audits
	// the refused request on its own).
	if _, refused := apply(CmdSetKeyEnabled, &fsmpb.SetKeyEnabled{KeyId: "nope", Enabled: false}, `{"eventName":"DisableKey","refused":true}`).(error); !refused {
		t.Fatal("disabling a missing key was not refused")
	}
	got := events()
	want := []string{`{"eventName":"CreateKey"}`, `{"eventName":"DisableKey"}`}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("audit log %q, want %q", got, want)
	}
	// A replayed entry (restart) records nothing twice.
	cmd, _ := NewAuditedCommand(CmdSetKeyEnabled, &fsmpb.SetKeyEnabled{KeyId: "k1", Enabled: false}, ts, []byte(`{"eventName":"DisableKey"}`))
	f.ApplyBatch([]*raft.Log{{Index: 3, Type: raft.LogCommand, Data: cmd}})
	if n := len(events()); n != 2 {
		t.Fatalf("replaying index 3 left %d events, want 2", n)
	}
	if k, _ := f.Query().Key("k1"); k.KeyState != StateDisabled {
		t.Fatalf("k1 is %s", k.KeyState)
	}
}
