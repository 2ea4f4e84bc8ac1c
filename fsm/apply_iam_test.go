package fsm

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/keyraft/keyraft/fsm/fsmpb"
)

// TestDeleteUserAndPolicy: a user goes only once its access keys and
// policies are gone (IAM's DeleteConflict); a policy goes by name; and the
// result survives a snapshot.
func TestDeleteUserAndPolicy(t *testing.T) {
	ts := int64(1_700_000_000_000_000_000)
	f := newFSM(t)
	index := uint64(0)
	apply := func(ct CommandType, p any) error {
		t.Helper()
		index++
		r := applyAll(f, [][]byte{encode(t, ct, p, ts)}, index)[0]
		err, _ := r.(error)
		return err
	}
	if err := apply(CmdInit, &fsmpb.Init{Shares: 1, Threshold: 1, SealedKeyring: []byte("k"),
		RootAccessKey: &fsmpb.AccessKey{AccessKeyId: "AKIAROOT", SealedSecret: []byte("s")}}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"alice", "bob"} {
		if err := apply(CmdCreateUser, &fsmpb.CreateUser{User: &fsmpb.User{Name: name, Arn: "arn:aws:iam::1:user/" + name}}); err != nil {
			t.Fatal(err)
		}
	}
	must := func(err, want error, what string) {
		t.Helper()
		if !errors.Is(err, want) {
			t.Fatalf("%s: %v, want %v", what, err, want)
		}
	}
	must(apply(CmdCreateAccessKey, &fsmpb.AccessKey{AccessKeyId: "AKIA1", SealedSecret: []byte("s"), UserName: "alice"}), nil, "access key")
	must(apply(CmdPutUserPolicy, &fsmpb.PutUserPolicy{UserName: "alice", Policy: &fsmpb.UserPolicy{Name: "p1", Document: "{}"}}), nil, "p1")
	must(apply(CmdPutUserPolicy, &fsmpb.PutUserPolicy{UserName: "alice", Policy: &fsmpb.UserPolicy{Name: "p2", Document: "{}"}}), nil, "p2")

	must(apply(CmdDeleteUser, &fsmpb.DeleteUser{UserName: "carol"}), ErrUserNotFound, "delete a user that is not there")
	must(apply(CmdDeleteUser, &fsmpb.DeleteUser{UserName: "alice"}), ErrUserHasEntities, "delete alice with a key and policies")
	must(apply(CmdDeleteAccessKey, &fsmpb.DeleteAccessKey{AccessKeyId: "AKIA1", UserName: "alice"}), nil, "delete her key")
	must(apply(CmdDeleteUser, &fsmpb.DeleteUser{UserName: "alice"}), ErrUserHasEntities, "delete alice with policies")
	must(apply(CmdDeleteUserPolicy, &fsmpb.DeleteUserPolicy{UserName: "alice", PolicyName: "nope"}), ErrUserPolicyNotFound, "delete a policy that is not there")
	must(apply(CmdDeleteUserPolicy, &fsmpb.DeleteUserPolicy{UserName: "carol", PolicyName: "p1"}), ErrUserNotFound, "delete a policy of nobody")
	must(apply(CmdDeleteUserPolicy, &fsmpb.DeleteUserPolicy{UserName: "alice", PolicyName: "p1"}), nil, "delete p1")
	if u, _ := f.Query().User("alice"); len(u.Policies) != 1 || u.Policies[0].Name != "p2" {
		t.Fatalf("alice's policies after deleting p1: %v", u.Policies)
	}
	must(apply(CmdDeleteUserPolicy, &fsmpb.DeleteUserPolicy{UserName: "alice", PolicyName: "p2"}), nil, "delete p2")
	must(apply(CmdDeleteUser, &fsmpb.DeleteUser{UserName: "alice"}), nil, "delete alice")
	if _, ok := f.Query().User("alice"); ok {
		t.Fatal("alice is still there")
	}
	// Deleted for good: a snapshot restored elsewhere agrees.
	g := newFSM(t)
	if err := g.Restore(io.NopCloser(bytes.NewReader(snapshotBytes(t, f)))); err != nil {
		t.Fatal(err)
	}
	if users := g.Query().Users(); len(users) != 1 || users[0].Name != "bob" {
		t.Fatalf("restored users: %v", users)
	}
}
