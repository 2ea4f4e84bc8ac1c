package kms

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/keyraft/keyraft/fsm"
	"github.com/keyraft/keyraft/fsm/fsmpb"
	"github.com/keyraft/keyraft/policy"
)

// scaleKeys commits n keys as CreateKey makes them (the default policy,
// one material version sealed under the keyring), none of them due: one
// in ten rotates automatically a year on, one in fifty is pending
// deletion in 30 days, one in a hundred is EXTERNAL with material that
// expires in 30 days. The material is sealed once and shared: housekeeping
// opens none of it, and sealing 100,000 values would make the setup, not
// the pass, the benchmark's cost.
func (ts *testService) scaleKeys(tb testing.TB, n int) {
	tb.Helper()
	kr, _ := ts.keyring()
	sealed, e := ts.newMaterial(kr, "scale", 1)
	if e != nil {
		tb.Fatal(e)
	}
	now := ts.now()
	doc := string(policy.DefaultKeyPolicy(ts.Account))
	later := func(d time.Duration) int64 { return now.Add(d).UnixNano() }
	for i := range n {
		k := &fsmpb.Key{
			KeyId: fmt.Sprintf("%08x-0000-4000-8000-000000000000", i), CreationDate: now.UnixNano(),
			KeyUsage: "ENCRYPT_DECRYPT", KeySpec: "SYMMETRIC_DEFAULT", KeyState: string(fsm.StateEnabled), Origin: "AWS_KMS",
			Policy:   doc,
			Material: []*fsmpb.KeyMaterial{{Version: 1, Sealed: sealed, CreateDate: now.UnixNano()}},
		}
		switch {
		case i%10 == 0:
			k.RotationEnabled, k.RotationPeriodDays, k.NextRotationDate = true, 365, later(365*day)
		case i%50 == 1:
			k.KeyState, k.DeletionDate, k.PendingWindowDays = string(fsm.StatePendingDeletion), later(30*day), 30
		case i%100 == 2:
			k.Origin, k.KeyState, k.Material = fsm.OriginExternal, string(fsm.StatePendingImport), nil
		}
		if e := ts.commit(context.Background(), Call{}, fsm.CmdCreateKey, &fsmpb.CreateKey{Key: k}, now); e != nil {
			tb.Fatal(e)
		}
		if k.Origin == fsm.OriginExternal {
			rec := &fsmpb.ImportMaterial{KeyMaterialId: "m1", Version: 1, Imported: true,
				ExpirationModel: "KEY_MATERIAL_EXPIRES", ValidTo: later(30 * day)}
			if e := ts.commit(context.Background(), Call{}, fsm.CmdImportKeyMaterial,
				&fsmpb.ImportKeyMaterial{KeyId: k.KeyId, Record: rec, Sealed: sealed}, now); e != nil {
				tb.Fatal(e)
			}
		}
	}
}

// BenchmarkHousekeeping is one pass of the leader's housekeeping over a
// cluster of 1,000 to 100,000 keys none of which is due: the pass should
// cost the same whatever the number of keys.
//
//	go test ./kms -run NONE -bench Housekeeping -benchtime 20x
func BenchmarkHousekeeping(b *testing.B) {
	for _, n := range []int{1_000, 10_000, 100_000} {
		b.Run(fmt.Sprintf("keys=%d", n), func(b *testing.B) {
			ts := newTestService(b)
			ts.advance(0)
			ts.scaleKeys(b, n)
			index := ts.index
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				if err := ts.Housekeeping(b.Context()); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			if ts.index != index {
				b.Fatalf("housekeeping proposed %d commands: something was due", ts.index-index)
			}
		})
	}
}

// BenchmarkDropStaleSecrets is the pass every node makes over its caches
// of unsealed material every 10 s, with every key's material cached and
// nothing deleted since the last pass.
//
//	go test ./kms -run NONE -bench DropStaleSecrets -benchtime 20x
func BenchmarkDropStaleSecrets(b *testing.B) {
	for _, n := range []int{1_000, 10_000, 100_000} {
		b.Run(fmt.Sprintf("keys=%d", n), func(b *testing.B) {
			ts := newTestService(b)
			ts.advance(0)
			ts.scaleKeys(b, n)
			ts.cacheMu.Lock()
			ts.material = map[string][]byte{}
			for _, id := range ts.State.KeyIDs() {
				ts.material[materialPath(id, 1)] = make([]byte, 32)
			}
			ts.cacheMu.Unlock()
			ts.DropStaleSecrets() // the pass after the caches filled
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				ts.DropStaleSecrets()
			}
			b.StopTimer()
			if len(ts.material) != n {
				b.Fatalf("%d cached after the passes, want %d: nothing was deleted", len(ts.material), n)
			}
		})
	}
}

// BenchmarkDecryptAuthorisedBy is one Decrypt on a key holding 50,000
// grants, among 100,000 keys, by a user whose IAM policy allows it and by
// one with no policy but a grant: issue 18 wants the second within 10 %
// of the first.
//
//	go test ./kms -run NONE -bench DecryptAuthorisedBy -benchtime 20000x
func BenchmarkDecryptAuthorisedBy(b *testing.B) {
	ts := newTestService(b)
	ts.scaleKeys(b, 100_000)
	id, _ := ts.newKey(b)
	bob, alice := testUser("bob"), testUser("alice")
	if e := ts.commit(context.Background(), Call{}, fsm.CmdPutUserPolicy, &fsmpb.PutUserPolicy{UserName: "bob",
		Policy: &fsmpb.UserPolicy{Name: "kms", Document: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:*","Resource":"*"}]}`}}, ts.now()); e != nil {
		b.Fatal(e)
	}
	ts.grant(b, id, alice, []string{"Decrypt", "Encrypt"}, nil)
	ts.fillGrants(b, id, 0, fsm.MaxGrantsPerKey-1)
	blob := ts.mustCall(b, "Encrypt", map[string]any{"KeyId": id, "Plaintext": b64(string(make([]byte, 4096)))})["CiphertextBlob"]
	body, _ := json.Marshal(map[string]any{"CiphertextBlob": blob})
	for _, c := range []struct {
		name   string
		caller Caller
	}{{"policy", bob}, {"grant", alice}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, e := ts.Handle(context.Background(), c.caller, "Decrypt", body); e != nil {
					b.Fatal(e)
				}
			}
		})
	}
}

// BenchmarkListKeysPage is one ListKeys page of 1,000 keys from the middle
// of 1,000 to 100,000 keys: a client paging through all of them asks for
// keys/1000 such pages.
//
//	go test ./kms -run NONE -bench ListKeysPage -benchtime 20x
func BenchmarkListKeysPage(b *testing.B) {
	for _, n := range []int{1_000, 10_000, 100_000} {
		b.Run(fmt.Sprintf("keys=%d", n), func(b *testing.B) {
			ts := newTestService(b)
			ts.scaleKeys(b, n)
			ids := ts.State.KeyIDs()
			body, _ := json.Marshal(map[string]any{"Limit": 1000, "Marker": ids[n/2-1]})
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				if _, e := ts.Handle(context.Background(), testRoot, "ListKeys", body); e != nil {
					b.Fatal(e)
				}
			}
		})
	}
}
