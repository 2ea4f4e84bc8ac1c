package kms

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"sort"
	"strings"
	"testing"

	"github.com/keyraft/keyraft/fsm"
	"github.com/keyraft/keyraft/fsm/fsmpb"
	"github.com/keyraft/keyraft/internal/awserr"
)

// testUser is an IAM user of the test account with no identity policy: the
// default key policy gives it nothing, so only grants can. newTestService
// creates the users of testUserNames, with the unique ids testUser gives.
func testUser(name string) Caller {
	return Caller{AccessKeyID: "AKIA" + name, PrincipalARN: "arn:aws:iam::111122223333:user/" + name, UserName: name,
		UserID: testUserID(name)}
}

func testUserID(name string) string { return "AIDATEST" + strings.ToUpper(name) }

// testUserNames are the users the tests call as or grant to.
var testUserNames = []string{"a", "alice", "asym", "bob", "carol", "eq", "only", "retirer", "sub", "two"}

// createTestUser commits user name as iam.CreateUser would.
func (ts *testService) createTestUser(tb testing.TB, name string) {
	tb.Helper()
	u := fsm.User{Name: name, ARN: "arn:aws:iam::111122223333:user/" + name, UserID: testUserID(name), CreateDate: ts.now()}
	if e := ts.commit(context.Background(), Call{}, fsm.CmdCreateUser, fsm.CreateUserCommand(u), ts.now()); e != nil {
		tb.Fatal(e)
	}
}

// deleteTestUser commits the deletion of user name.
func (ts *testService) deleteTestUser(tb testing.TB, name string) {
	tb.Helper()
	if e := ts.commit(context.Background(), Call{}, fsm.CmdDeleteUser, &fsmpb.DeleteUser{UserName: name}, ts.now()); e != nil {
		tb.Fatal(e)
	}
}

// callAs is call for another principal than the root.
func (ts *testService) callAs(tb testing.TB, c Caller, op string, in any) (map[string]any, *awserr.Error) {
	tb.Helper()
	body, err := json.Marshal(in)
	if err != nil {
		tb.Fatal(err)
	}
	res, e := ts.Handle(context.Background(), c, op, body)
	if e != nil {
		return nil, e
	}
	b, _ := json.Marshal(res)
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		tb.Fatal(err)
	}
	return out, nil
}

// grant has the root give grantee ops on key id with constraints c (nil: none).
func (ts *testService) grant(tb testing.TB, id string, grantee Caller, ops []string, c map[string]any) {
	tb.Helper()
	in := map[string]any{"KeyId": id, "GranteePrincipal": grantee.PrincipalARN, "Operations": ops}
	if c != nil {
		in["Constraints"] = c
	}
	ts.mustCall(tb, "CreateGrant", in)
}

func equals(m map[string]string) map[string]any { return map[string]any{"EncryptionContextEquals": m} }
func subset(m map[string]string) map[string]any { return map[string]any{"EncryptionContextSubset": m} }

// TestGrantCannotBeWidened: a grant that allows CreateGrant lets its
// grantee issue grants with only the operations it holds and constraints
// at least as strict as its own; any other is AccessDeniedException and
// changes nothing. With several grants, one must cover the new grant.
func TestGrantCannotBeWidened(t *testing.T) {
	ts := newTestService(t)
	id, _ := ts.newKey(t)
	only, eq, sub, two, carol := testUser("only"), testUser("eq"), testUser("sub"), testUser("two"), testUser("carol")
	ops := map[string]string{"team": "ops"}
	opsWeb := map[string]string{"team": "ops", "app": "web"}
	ts.grant(t, id, only, []string{"CreateGrant"}, nil)
	ts.grant(t, id, eq, []string{"CreateGrant", "Decrypt"}, equals(ops))
	ts.grant(t, id, sub, []string{"CreateGrant", "Decrypt", "Encrypt"}, subset(ops))
	ts.grant(t, id, two, []string{"CreateGrant", "Decrypt"}, equals(ops))
	ts.grant(t, id, two, []string{"CreateGrant", "Encrypt"}, nil)

	cases := []struct {
		name    string
		as      Caller
		grantee Caller
		ops     []string
		c       map[string]any
		allowed bool
	}{
		{"CreateGrant only/self Decrypt and Encrypt", only, only, []string{"Decrypt", "Encrypt", "GenerateDataKey"}, nil, false},
		{"CreateGrant only/other Decrypt", only, carol, []string{"Decrypt"}, nil, false},
		{"CreateGrant only/CreateGrant", only, carol, []string{"CreateGrant"}, nil, true},
		{"Equals/Subset of the same context", eq, eq, []string{"Decrypt"}, subset(ops), false},
		{"Equals/no constraint", eq, carol, []string{"Decrypt"}, nil, false},
		{"Equals/another context", eq, carol, []string{"Decrypt"}, equals(map[string]string{"team": "dev"}), false},
		{"Equals/a larger context", eq, carol, []string{"Decrypt"}, equals(opsWeb), false},
		{"Equals/an operation it lacks", eq, carol, []string{"Decrypt", "Encrypt"}, equals(ops), false},
		{"Equals/the same context", eq, carol, []string{"Decrypt"}, equals(ops), true},
		{"Subset/no constraint", sub, carol, []string{"Decrypt"}, nil, false},
		{"Subset/another pair", sub, carol, []string{"Decrypt"}, subset(map[string]string{"app": "web"}), false},
		{"Subset/a different value", sub, carol, []string{"Decrypt"}, equals(map[string]string{"team": "dev"}), false},
		{"Subset/the same", sub, carol, []string{"Encrypt", "Decrypt"}, subset(ops), true},
		{"Subset/a superset", sub, carol, []string{"Decrypt"}, subset(opsWeb), true},
		{"Subset/Equals holding its pairs", sub, carol, []string{"Encrypt"}, equals(opsWeb), true},
		{"Subset/an operation it lacks", sub, carol, []string{"GenerateDataKey"}, subset(ops), false},
		{"two grants/each covers a part, none the whole", two, carol, []string{"Decrypt", "Encrypt"}, equals(ops), false},
		{"two grants/the unconstrained one", two, carol, []string{"Encrypt"}, nil, true},
		{"two grants/the constrained one", two, carol, []string{"Decrypt"}, equals(ops), true},
	}
	for _, tc := range cases {
		in := map[string]any{"KeyId": id, "GranteePrincipal": tc.grantee.PrincipalARN, "Operations": tc.ops}
		if tc.c != nil {
			in["Constraints"] = tc.c
		}
		if !tc.allowed {
			ts.refusedAs(t, tc.as, "CreateGrant", in, "AccessDeniedException")
			continue
		}
		if _, e := ts.callAs(t, tc.as, "CreateGrant", in); e != nil {
			t.Fatalf("%s: %v", tc.name, e)
		}
	}

	// What a holder passed on works, no more: carol decrypts under the
	// context eq gave her, not without it.
	ct := ts.mustCall(t, "Encrypt", map[string]any{"KeyId": id, "Plaintext": []byte("x"), "EncryptionContext": ops})["CiphertextBlob"]
	if _, e := ts.callAs(t, carol, "Decrypt", map[string]any{"CiphertextBlob": ct, "EncryptionContext": ops}); e != nil {
		t.Fatalf("carol's granted Decrypt: %v", e)
	}
	if _, e := ts.callAs(t, only, "Decrypt", map[string]any{"CiphertextBlob": ct, "EncryptionContext": ops}); e == nil || e.Type != "AccessDeniedException" {
		t.Fatalf("a CreateGrant-only grantee decrypted: %v", e)
	}
}

// refusedAs is refused for another principal than the root.
func (ts *testService) refusedAs(tb testing.TB, c Caller, op string, in any, typ string) {
	tb.Helper()
	before := ts.snapshot(tb)
	_, e := ts.callAs(tb, c, op, in)
	if e == nil || e.Type != typ {
		tb.Fatalf("%s as %s %v: got %v, want %s", op, c.UserName, in, e, typ)
	}
	if !bytes.Equal(before, ts.snapshot(tb)) {
		tb.Fatalf("%s refused with %s but changed the state", op, e.Type)
	}
}

// fillGrants commits n grants on key id for grantees other than anyone a
// test calls as, as CreateGrant would.
func (ts *testService) fillGrants(tb testing.TB, id string, from, n int) {
	tb.Helper()
	for i := from; i < from+n; i++ {
		g := &fsmpb.Grant{
			GrantId: fmt.Sprintf("%064x", i), KeyId: id, Token: "t", Operations: []string{"Decrypt", "Encrypt"},
			GranteePrincipal: fmt.Sprintf("arn:aws:iam::111122223333:user/filler%d", i%1000),
		}
		if e := ts.commit(context.Background(), Call{}, fsm.CmdCreateGrant, &fsmpb.CreateGrant{Grant: g}, ts.now()); e != nil {
			tb.Fatal(e)
		}
	}
}

// bytesPerCheck is what one grant check allocates, on average.
func bytesPerCheck(ts *testService, c Caller, id string) uint64 {
	const runs = 200
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for range runs {
		if !ts.grantAllows(c, id, "Decrypt", nil) {
			panic("grant check refused")
		}
	}
	runtime.ReadMemStats(&after)
	return (after.TotalAlloc - before.TotalAlloc) / runs
}

// TestGrantCheckCostIsIndependentOfGrantCount: the grant check costs the
// same with 10 grants in the cluster as with 50,000: it reads the caller's
// grants on the key, not the others (a scan of them all allocates and
// sorts their ids).
func TestGrantCheckCostIsIndependentOfGrantCount(t *testing.T) {
	ts := newTestService(t)
	id, _ := ts.newKey(t)
	alice := testUser("alice")
	ts.grant(t, id, alice, []string{"Decrypt"}, nil)
	ts.fillGrants(t, id, 0, 9)
	few := bytesPerCheck(ts, alice, id)
	other, _ := ts.newKey(t)
	ts.fillGrants(t, id, 9, 25_000)
	ts.fillGrants(t, other, 25_009, 24_990)
	many := bytesPerCheck(ts, alice, id)
	if many > few+256 {
		t.Fatalf("a grant check allocates %d bytes with 50,000 grants, %d with 10", many, few)
	}
}

// TestGrantQuotaIsLimitExceeded: a key holds at most 50,000 grants, as in
// AWS; CreateGrant beyond is LimitExceededException and changes nothing.
func TestGrantQuotaIsLimitExceeded(t *testing.T) {
	ts := newTestService(t)
	id, _ := ts.newKey(t)
	ts.fillGrants(t, id, 0, fsm.MaxGrantsPerKey)
	in := map[string]any{"KeyId": id, "GranteePrincipal": testUser("alice").PrincipalARN, "Operations": []string{"Decrypt"}}
	ts.refused(t, "CreateGrant", in, "LimitExceededException", "")
	other, _ := ts.newKey(t)
	ts.mustCall(t, "CreateGrant", map[string]any{"KeyId": other, "GranteePrincipal": testUser("alice").PrincipalARN, "Operations": []string{"Decrypt"}})
	ts.mustCall(t, "RevokeGrant", map[string]any{"KeyId": id, "GrantId": fmt.Sprintf("%064x", 7)})
	ts.mustCall(t, "CreateGrant", in)
}

// BenchmarkGrantCheck: one grant check with 10 and with 50,000 grants in
// the cluster (most on the same key, for other grantees).
func BenchmarkGrantCheck(b *testing.B) {
	for _, n := range []int{10, 50_000} {
		b.Run(fmt.Sprintf("grants=%d", n), func(b *testing.B) {
			ts := newTestService(b)
			id, _ := ts.newKey(b)
			alice := testUser("alice")
			ts.grant(b, id, alice, []string{"Decrypt"}, nil)
			ts.fillGrants(b, id, 0, min(n-1, fsm.MaxGrantsPerKey-1))
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if !ts.grantAllows(alice, id, "Decrypt", nil) {
					b.Fatal("grant check refused")
				}
			}
		})
	}
}

// TestListGrantsPagesTheIndex: ListGrants and ListRetirableGrants page
// through the index in grant id order, with their filters.
func TestListGrantsPagesTheIndex(t *testing.T) {
	ts := newTestService(t)
	id, _ := ts.newKey(t)
	other, _ := ts.newKey(t)
	ts.fillGrants(t, id, 0, 120)
	ts.fillGrants(t, other, 120, 30)
	retiring := testUser("retirer").PrincipalARN
	g := ts.mustCall(t, "CreateGrant", map[string]any{"KeyId": id, "GranteePrincipal": testUser("alice").PrincipalARN,
		"RetiringPrincipal": retiring, "Operations": []string{"Decrypt"}})
	list := func(op string, in map[string]any) []string {
		var ids []string
		for {
			out := ts.mustCall(t, op, in)
			for _, e := range out["Grants"].([]any) {
				ids = append(ids, e.(map[string]any)["GrantId"].(string))
			}
			if out["Truncated"] != true {
				return ids
			}
			in["Marker"] = out["NextMarker"]
		}
	}
	all := list("ListGrants", map[string]any{"KeyId": id, "Limit": 50})
	if len(all) != 121 || !sort.StringsAreSorted(all) {
		t.Fatalf("ListGrants paged %d grants (sorted: %v), want 121", len(all), sort.StringsAreSorted(all))
	}
	if got := list("ListGrants", map[string]any{"KeyId": id, "GranteePrincipal": "arn:aws:iam::111122223333:user/filler7"}); len(got) != 1 || got[0] != fmt.Sprintf("%064x", 7) {
		t.Fatalf("ListGrants of one grantee: %v", got)
	}
	if got := list("ListGrants", map[string]any{"KeyId": id, "GrantId": g["GrantId"]}); len(got) != 1 {
		t.Fatalf("ListGrants of one grant id: %v", got)
	}
	if got := list("ListGrants", map[string]any{"KeyId": other, "GrantId": g["GrantId"]}); len(got) != 0 {
		t.Fatalf("ListGrants of another key's grant id: %v", got)
	}
	if got := list("ListRetirableGrants", map[string]any{"RetiringPrincipal": retiring, "Limit": 1}); len(got) != 1 || got[0] != g["GrantId"] {
		t.Fatalf("ListRetirableGrants: %v", got)
	}
}
