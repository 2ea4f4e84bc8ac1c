package kms

import (
	"context"
	"testing"
	"time"

	"github.com/keyraft/keyraft/fsm"
	"github.com/keyraft/keyraft/fsm/fsmpb"
)

// TestRecreatedUserDoesNotInheritGrants: a grant binds the user it names,
// not the name. Deleted and re-created under the same name (a new unique
// id), the user holds none of the old user's grants, as grantee or as
// retiring principal; ListGrants still shows the ARNs.
func TestRecreatedUserDoesNotInheritGrants(t *testing.T) {
	ts := newTestService(t)
	id, _ := ts.newKey(t)
	old := testUser("carol")
	ct := ts.mustCall(t, "Encrypt", map[string]any{"KeyId": id, "Plaintext": []byte("x")})["CiphertextBlob"]
	g := ts.mustCall(t, "CreateGrant", map[string]any{"KeyId": id, "GranteePrincipal": old.PrincipalARN,
		"RetiringPrincipal": old.PrincipalARN, "Operations": []string{"Decrypt"}})
	if _, e := ts.callAs(t, old, "Decrypt", map[string]any{"CiphertextBlob": ct}); e != nil {
		t.Fatalf("the grantee's Decrypt: %v", e)
	}

	ts.deleteTestUser(t, "carol")
	u := fsm.User{Name: "carol", ARN: old.PrincipalARN, UserID: "AIDATESTCAROLAGAIN", CreateDate: ts.advance(time.Second)}
	if e := ts.commit(context.Background(), Call{}, fsm.CmdCreateUser, fsm.CreateUserCommand(u), ts.now()); e != nil {
		t.Fatal(e)
	}
	again := old
	again.UserID = u.UserID
	if _, e := ts.callAs(t, again, "Decrypt", map[string]any{"CiphertextBlob": ct}); e == nil || e.Type != "AccessDeniedException" {
		t.Fatalf("the re-created user's Decrypt under the old grant: %v, want AccessDeniedException", e)
	}
	if _, e := ts.callAs(t, again, "RetireGrant", map[string]any{"KeyId": id, "GrantId": g["GrantId"]}); e == nil || e.Type != "AccessDeniedException" {
		t.Fatalf("the re-created user retired the old user's grant: %v", e)
	}
	list := ts.mustCall(t, "ListGrants", map[string]any{"KeyId": id})["Grants"].([]any)
	if len(list) != 1 || list[0].(map[string]any)["GranteePrincipal"] != old.PrincipalARN {
		t.Fatalf("ListGrants = %v, want the grant with the ARN", list)
	}

	// A grant made for the new user is the new user's.
	ts.grant(t, id, again, []string{"Decrypt"}, nil)
	if _, e := ts.callAs(t, again, "Decrypt", map[string]any{"CiphertextBlob": ct}); e != nil {
		t.Fatalf("Decrypt under the new user's own grant: %v", e)
	}
}

// TestGrantForMissingUserIsRefused: a user ARN of this account that names
// no user is InvalidArnException, as AWS refuses a principal that does not
// exist, and nothing is committed; other principals are taken as named.
func TestGrantForMissingUserIsRefused(t *testing.T) {
	ts := newTestService(t)
	id, _ := ts.newKey(t)
	for _, member := range []string{"GranteePrincipal", "RetiringPrincipal"} {
		in := map[string]any{"KeyId": id, "GranteePrincipal": testUser("alice").PrincipalARN, "Operations": []string{"Decrypt"}}
		in[member] = "arn:aws:iam::111122223333:user/nobody"
		ts.refused(t, "CreateGrant", in, "InvalidArnException", "")
		in["DryRun"] = true
		ts.refused(t, "CreateGrant", in, "InvalidArnException", "")
	}
	for _, p := range []string{"arn:aws:iam::111122223333:root", "arn:aws:iam::444455556666:user/nobody", "arn:aws:iam::111122223333:role/r"} {
		ts.mustCall(t, "CreateGrant", map[string]any{"KeyId": id, "GranteePrincipal": p, "Operations": []string{"Decrypt"}})
	}
}

// TestLegacyGrantNotHeldByYoungerUser: a grant committed before grants
// recorded ids (no GranteePrincipalID) is held by a user of that name only
// if the user is not younger than the grant.
func TestLegacyGrantNotHeldByYoungerUser(t *testing.T) {
	ts := newTestService(t)
	id, _ := ts.newKey(t)
	ct := ts.mustCall(t, "Encrypt", map[string]any{"KeyId": id, "Plaintext": []byte("x")})["CiphertextBlob"]
	legacy := func(gid string) {
		g := &fsmpb.Grant{GrantId: gid, KeyId: id, Token: "t", Operations: []string{"Decrypt"},
			GranteePrincipal: testUser("bob").PrincipalARN, CreationDate: ts.advance(time.Second).UnixNano()}
		if e := ts.commit(context.Background(), Call{}, fsm.CmdCreateGrant, &fsmpb.CreateGrant{Grant: g}, ts.now()); e != nil {
			t.Fatal(e)
		}
	}
	legacy("0000000000000000000000000000000000000000000000000000000000000001")
	if _, e := ts.callAs(t, testUser("bob"), "Decrypt", map[string]any{"CiphertextBlob": ct}); e != nil {
		t.Fatalf("the user the legacy grant was made for: %v", e)
	}
	ts.deleteTestUser(t, "bob")
	ts.advance(time.Second)
	ts.createTestUser(t, "bob")
	if _, e := ts.callAs(t, testUser("bob"), "Decrypt", map[string]any{"CiphertextBlob": ct}); e == nil || e.Type != "AccessDeniedException" {
		t.Fatalf("a user created after the legacy grant: %v, want AccessDeniedException", e)
	}
}
