package fsm

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/keyraft/keyraft/audit"
	"github.com/keyraft/keyraft/fsm/fsmpb"
)

// localProposer applies commands to f in log order, as Raft does on the leader.
func localProposer(f *FSM) Proposer {
	var index uint64
	return func(_ context.Context, cmd []byte) (Result, error) {
		index++
		return ResultOf(f.Apply(&raft.Log{Index: index, Type: raft.LogCommand, Data: cmd}))
	}
}

// TestProposeAuditedOutcomes: an applied command marks the recorder
// Recorded; a refusal is a *RefusedError that errors.Is and errors.As see
// through and leaves the recorder alone; a cluster failure is no refusal
// and marks it Indeterminate.
func TestProposeAuditedOutcomes(t *testing.T) {
	ctx := context.Background()
	f := New(nil)
	propose := localProposer(f)
	now := time.Unix(1_700_000_000, 0)
	rec := func() *audit.Recorder { return &audit.Recorder{Event: func(any) []byte { return []byte(`{}`) }} }

	r := rec()
	_, err := ProposeAudited(ctx, propose, r, CmdCreateKey, &fsmpb.CreateKey{Key: testKey("k1", now.UnixNano())}, now, nil)
	if !errors.Is(err, ErrNotInitialized) || !Refused(err) || r.Outcome() != audit.NotCarried {
		t.Fatalf("CreateKey before init: %v (refused %v), outcome %d", err, Refused(err), r.Outcome())
	}
	r = rec()
	if _, err := ProposeAudited(ctx, propose, r, CmdInit, &fsmpb.Init{Shares: 1, Threshold: 1, SealedKeyring: []byte("kr"),
		RootAccessKey: &fsmpb.AccessKey{AccessKeyId: "AKIAROOT"}}, now, nil); err != nil || r.Outcome() != audit.Recorded {
		t.Fatalf("Init: %v, outcome %d", err, r.Outcome())
	}
	if _, err := ProposeAudited(ctx, propose, nil, CmdCreateKey, CreateKeyCommand(Key{KeyID: "k1", KeyState: StateEnabled,
		Material: []KeyMaterial{{Version: 1, Sealed: []byte("m")}}}), now, nil); err != nil {
		t.Fatalf("CreateKey without a recorder: %v", err)
	}
	r = rec()
	_, err = ProposeAudited(ctx, propose, r, CmdCancelKeyDeletion, &fsmpb.KeyRef{KeyId: "k1"}, now, nil)
	var kse *KeyStateError
	if !errors.As(err, &kse) || kse.State != StateEnabled || r.Outcome() != audit.NotCarried {
		t.Fatalf("CancelKeyDeletion of an enabled key: %v, outcome %d", err, r.Outcome())
	}

	lost := errors.New("leadership lost")
	r = rec()
	_, err = ProposeAudited(ctx, func(context.Context, []byte) (Result, error) { return Result{}, lost }, r,
		CmdSetKeyEnabled, &fsmpb.SetKeyEnabled{KeyId: "k1"}, now, nil)
	if !errors.Is(err, lost) || Refused(err) || r.Outcome() != audit.Indeterminate {
		t.Fatalf("failed proposal: %v (refused %v), outcome %d", err, Refused(err), r.Outcome())
	}
}

// TestQueryHandsOutCopies: what a read returns is the caller's own;
// changing it changes nothing in the state.
func TestQueryHandsOutCopies(t *testing.T) {
	f := newFSM(t)
	applyAll(f, commandLog(t), 1)
	q := f.Query()
	k, ok := q.Key("key-011")
	if !ok || k.CurrentVersion() != 3 || k.CreationDate.IsZero() || !k.DeletionDate.IsZero() {
		t.Fatalf("key-011: %+v", k)
	}
	k.KeyState, k.Material[0].Sealed[0] = StateDisabled, 'X'
	k.Material = k.Material[:1]
	again, _ := q.Key("key-011")
	if again.KeyState != StateEnabled || again.CurrentVersion() != 3 || again.Material[0].Sealed[0] == 'X' {
		t.Fatalf("a change to a read reached the state: %+v", again)
	}
	if _, ok := q.Key("nope"); ok || q.KeyExists("nope") || !q.KeyExists("key-011") {
		t.Fatal("KeyExists disagrees with Key")
	}
	in, ok := q.Init()
	if !ok || !q.Initialized() || in.Threshold != 3 || in.Shares != 5 || in.RootAccessKey.AccessKeyID != "AKIAROOT" {
		t.Fatalf("init: %+v", in)
	}
	in.SealedKeyring[0] = 'X'
	if again, _ := q.Init(); again.SealedKeyring[0] == 'X' {
		t.Fatal("a change to the init record reached the state")
	}
}
