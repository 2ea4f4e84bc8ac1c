package fsm

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/keyraft/keyraft/fsm/fsmpb"
)

// TestVoterBinding: the first identity bound to a node id holds until
// remove-peer frees the id, and the binding survives a snapshot.
func TestVoterBinding(t *testing.T) {
	f := newFSM(t)
	bind := func(id, identity string) []byte {
		return encode(t, CmdBindVoter, &fsmpb.Voter{NodeId: id, Identity: identity}, 1)
	}
	res := applyAll(f, [][]byte{
		bind("n2", "aaaa"),
		bind("n2", "aaaa"), // the same server again: accepted
		bind("n2", "bbbb"), // another server claiming n2
		bind("n3", ""),
	}, 1)
	if res[0] != nil || res[1] != nil {
		t.Fatalf("binding n2: %v, %v", res[0], res[1])
	}
	if err, _ := res[2].(error); !errors.Is(err, ErrVoterBound) {
		t.Fatalf("second identity for n2: %v, want ErrVoterBound", res[2])
	}
	if err, _ := res[3].(error); !errors.Is(err, ErrInvalidCommand) {
		t.Fatalf("empty identity: %v, want ErrInvalidCommand", res[3])
	}
	r := newFSM(t)
	if err := r.Restore(io.NopCloser(bytes.NewReader(snapshotBytes(t, f)))); err != nil {
		t.Fatal(err)
	}
	if id, ok := r.Query().VoterIdentity("n2"); !ok || id != "aaaa" {
		t.Fatalf("restored binding of n2: %q %v", id, ok)
	}
	res = applyAll(r, [][]byte{
		encode(t, CmdRemovePeer, &fsmpb.RemovePeer{NodeId: "n2", BootNonce: "b"}, 1),
		bind("n2", "bbbb"),
	}, r.AppliedIndex()+1)
	if res[0] != nil || res[1] != nil {
		t.Fatalf("after remove-peer: %v, %v", res[0], res[1])
	}
	if id, _ := r.Query().VoterIdentity("n2"); id != "bbbb" {
		t.Fatalf("n2 after remove-peer is bound to %q", id)
	}
}
