package fsm

import (
	"fmt"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	"google.golang.org/protobuf/proto"

	"github.com/keyraft/keyraft/fsm/fsmpb"
)

// grantFSM returns an FSM holding keys key-0..keys-1 and n grants spread
// over them, grantees user/u0..u99 and retiring principals user/r0..r9,
// applied as commands; and the next free log index.
func grantFSM(tb testing.TB, keys, n int) (*FSM, uint64) {
	tb.Helper()
	f := New(nil)
	ts := time.Unix(1_700_000_000, 0)
	var idx uint64
	apply := func(t CommandType, p proto.Message) any {
		idx++
		return f.Apply(&raft.Log{Index: idx, Type: raft.LogCommand, Data: encodeAt(tb, t, p)})
	}
	if res := apply(CmdInit, &fsmpb.Init{Shares: 1, Threshold: 1, SealedKeyring: []byte("k"), RootAccessKey: &fsmpb.AccessKey{AccessKeyId: "AKIAROOT"}}); res != nil {
		tb.Fatal(res)
	}
	for k := range keys {
		if res := apply(CmdCreateKey, &fsmpb.CreateKey{Key: testKey(fmt.Sprintf("key-%d", k), ts.UnixNano())}); res != nil {
			tb.Fatal(res)
		}
	}
	for i := range n {
		if res := apply(CmdCreateGrant, &fsmpb.CreateGrant{Grant: testGrant(i, keys)}); res != nil {
			tb.Fatal(res)
		}
	}
	return f, idx + 1
}

func testGrant(i, keys int) *fsmpb.Grant {
	return &fsmpb.Grant{
		GrantId: fmt.Sprintf("g%06d", i), KeyId: fmt.Sprintf("key-%d", i%keys),
		GranteePrincipal:  fmt.Sprintf("arn:aws:iam::111122223333:user/u%d", i%100),
		RetiringPrincipal: fmt.Sprintf("arn:aws:iam::111122223333:user/r%d", i%10),
		Operations:        []string{"Decrypt"}, Token: "t",
	}
}

// TestGrantCheckVisitsOnlyTheCallersGrants: the grant check reads the
// grants of one grantee on one key, never the cluster's others; with
// 50,000 grants it visits exactly as many as with 10 grants of that caller.
func TestGrantCheckVisitsOnlyTheCallersGrants(t *testing.T) {
	const keys = 5
	f, _ := grantFSM(t, keys, 50_000)
	visits := 0
	f.Query().AnyGrant("key-3", "arn:aws:iam::111122223333:user/u3", func(g Grant) bool {
		visits++
		if g.KeyID != "key-3" || g.GranteePrincipal != "arn:aws:iam::111122223333:user/u3" {
			t.Fatalf("visited grant %s of %s on %s", g.GrantID, g.GranteePrincipal, g.KeyID)
		}
		return false
	})
	// i ≡ 3 (mod 5) and i ≡ 3 (mod 100): i ≡ 3 (mod 100), 500 of 50,000.
	if visits != 500 {
		t.Fatalf("the check visited %d grants, want the caller's 500 on the key", visits)
	}
	if n := len(all(f, "key-3", "")); n != 10_000 {
		t.Fatalf("KeyGrants: %d grants, want 10000", n)
	}
	if n := len(all(f, "key-3", "arn:aws:iam::111122223333:user/u8")); n != 500 {
		t.Fatalf("KeyGrants of one grantee: %d grants, want 500", n)
	}
	if n := len(retirable(f, "arn:aws:iam::111122223333:user/r7")); n != 5_000 {
		t.Fatalf("RetirableGrants: %d grants, want 5000", n)
	}
	allocs := testing.AllocsPerRun(100, func() {
		f.Query().AnyGrant("key-3", "arn:aws:iam::111122223333:user/u3", func(Grant) bool { return false })
	})
	if allocs > 0 {
		t.Fatalf("the grant check allocates %v times", allocs)
	}
}

// TestGrantIndexFollowsChanges: removing a grant, deleting its key and
// restoring a snapshot leave the index agreeing with the grants.
func TestGrantIndexFollowsChanges(t *testing.T) {
	f, idx := grantFSM(t, 3, 300)
	remove := encodeAt(t, CmdRemoveGrant, &fsmpb.RemoveGrant{KeyId: "key-0", GrantId: "g000000"})
	if res := f.Apply(&raft.Log{Index: idx, Type: raft.LogCommand, Data: remove}); res != nil {
		t.Fatal(res)
	}
	idx++
	if f.Query().AnyGrant("key-0", "arn:aws:iam::111122223333:user/u0", func(g Grant) bool { return g.GrantID == "g000000" }) {
		t.Fatal("a removed grant is still found by the check")
	}
	sched := encodeAt(t, CmdScheduleKeyDeletion, &fsmpb.ScheduleKeyDeletion{KeyId: "key-1", DeletionDate: 1, PendingWindowDays: 7})
	gone := encodeAt(t, CmdDeleteKey, &fsmpb.KeyRef{KeyId: "key-1"})
	for _, cmd := range [][]byte{sched, gone} {
		if res := f.Apply(&raft.Log{Index: idx, Type: raft.LogCommand, Data: cmd}); res != nil {
			t.Fatal(res)
		}
		idx++
	}
	if n := len(all(f, "key-1", "")); n != 0 {
		t.Fatalf("a deleted key still has %d grants", n)
	}
	if f.Query().AnyGrant("key-1", "arn:aws:iam::111122223333:user/u1", func(Grant) bool { return true }) {
		t.Fatal("a grant of a deleted key is still found by the check")
	}
	for _, g := range retirable(f, "arn:aws:iam::111122223333:user/r1") {
		if g.KeyID == "key-1" {
			t.Fatalf("grant %s of a deleted key is still retirable", g.GrantID)
		}
	}

	restored := New(nil)
	restoreBytes(t, restored, snapshotBytes(t, f))
	for _, k := range []string{"key-0", "key-1", "key-2"} {
		for u := range 100 {
			grantee := fmt.Sprintf("arn:aws:iam::111122223333:user/u%d", u)
			if a, b := ids(all(f, k, grantee)), ids(all(restored, k, grantee)); a != b {
				t.Fatalf("after restore, %s's grants on %s: %s, want %s", grantee, k, b, a)
			}
		}
	}
	for r := range 10 {
		p := fmt.Sprintf("arn:aws:iam::111122223333:user/r%d", r)
		if a, b := ids(retirable(f, p)), ids(retirable(restored, p)); a != b {
			t.Fatalf("after restore, %s's retirable grants: %s, want %s", p, b, a)
		}
	}
}

// TestGrantQuotaPerKey: the 50,001st grant on a key is refused; other keys
// and a freed place are unaffected.
func TestGrantQuotaPerKey(t *testing.T) {
	f, idx := grantFSM(t, 1, MaxGrantsPerKey)
	g := testGrant(MaxGrantsPerKey, 1)
	over := encodeAt(t, CmdCreateGrant, &fsmpb.CreateGrant{Grant: g})
	if res := f.Apply(&raft.Log{Index: idx, Type: raft.LogCommand, Data: over}); res != ErrGrantLimit {
		t.Fatalf("grant %d on one key: %v, want %v", MaxGrantsPerKey+1, res, ErrGrantLimit)
	}
	if _, ok := f.Query().Grant(g.GrantId); ok {
		t.Fatal("the refused grant was stored")
	}
	remove := encodeAt(t, CmdRemoveGrant, &fsmpb.RemoveGrant{GrantId: "g000001"})
	for i, cmd := range [][]byte{remove, over} {
		if res := f.Apply(&raft.Log{Index: idx + 1 + uint64(i), Type: raft.LogCommand, Data: cmd}); res != nil {
			t.Fatalf("command %d: %v", i, res)
		}
	}
}

func encodeAt(tb testing.TB, t CommandType, p proto.Message) []byte {
	tb.Helper()
	cmd, err := NewCommand(t, p, time.Unix(1_700_000_000, 0))
	if err != nil {
		tb.Fatal(err)
	}
	return cmd
}

func ids(gs []Grant) string {
	s := ""
	for _, g := range gs {
		s += g.GrantID + " "
	}
	return s
}

// all pages through KeyGrants 100 at a time, as ListGrants does.
func all(f *FSM, keyID, grantee string) []Grant {
	return pages(func(after string) GrantPage { return f.Query().KeyGrants(keyID, grantee, nil, after, 100) })
}

func retirable(f *FSM, principal string) []Grant {
	return pages(func(after string) GrantPage { return f.Query().RetirableGrants(principal, after, 100) })
}

func pages(read func(after string) GrantPage) []Grant {
	var out []Grant
	after := ""
	for {
		p := read(after)
		out = append(out, p.Grants...)
		if !p.Truncated {
			return out
		}
		after = p.Grants[len(p.Grants)-1].GrantID
	}
}
