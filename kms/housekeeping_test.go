package kms

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/keyraft/keyraft/fsm"
	"github.com/keyraft/keyraft/internal/awserr"
)

const day = 24 * time.Hour

func housekeep(t *testing.T, ts *testService) {
	t.Helper()
	if err := ts.Housekeeping(t.Context()); err != nil {
		t.Fatal(err)
	}
}

func cachedMaterial(ts *testService, keyID string) int {
	ts.cacheMu.RLock()
	defer ts.cacheMu.RUnlock()
	n := 0
	for path := range ts.material {
		if strings.HasPrefix(path, "key/"+keyID+"/") {
			n++
		}
	}
	return n
}

func TestHousekeepingDeletesDueKeys(t *testing.T) {
	ts := newTestService(t)
	ts.advance(0)
	doomed, _ := ts.newKey(t)
	kept, _ := ts.newKey(t)
	ts.mustCall(t, "Encrypt", map[string]any{"KeyId": doomed, "Plaintext": b64("x")}) // caches its material
	ts.mustCall(t, "CreateAlias", map[string]any{"AliasName": "alias/doomed", "TargetKeyId": doomed})
	ts.mustCall(t, "CreateAlias", map[string]any{"AliasName": "alias/kept", "TargetKeyId": kept})
	ts.mustCall(t, "ScheduleKeyDeletion", map[string]any{"KeyId": doomed, "PendingWindowInDays": 7})
	if cachedMaterial(ts, doomed) != 1 {
		t.Fatal("the doomed key's material is not cached")
	}

	ts.advance(7*day - time.Second)
	before := ts.snapshot(t)
	housekeep(t, ts)
	if !bytes.Equal(before, ts.snapshot(t)) {
		t.Fatal("housekeeping changed the state before the window ended")
	}

	ts.advance(time.Second)
	housekeep(t, ts)
	ts.refused(t, "DescribeKey", map[string]any{"KeyId": doomed}, "NotFoundException", "")
	ts.refused(t, "DescribeKey", map[string]any{"KeyId": "alias/doomed"}, "NotFoundException", "")
	aliases := ts.mustCall(t, "ListAliases", map[string]any{})["Aliases"].([]any)
	if len(aliases) != 1 || aliases[0].(map[string]any)["AliasName"] != "alias/kept" {
		t.Fatalf("aliases after deletion: %v", aliases)
	}
	if describe(t, ts, kept)["KeyState"] != "Enabled" {
		t.Fatal("housekeeping touched a key not pending deletion")
	}
	if n := cachedMaterial(ts, doomed); n != 0 {
		t.Fatalf("%d cached material versions of a deleted key", n)
	}
	before = ts.snapshot(t)
	housekeep(t, ts)
	if !bytes.Equal(before, ts.snapshot(t)) {
		t.Fatal("a second pass changed the state")
	}
}

// TestDropStaleSecretsCatchesALateCache: a request that read a key before
// its deletion may cache its material after the pass that followed the
// deletion; the next pass drops it, though nothing was deleted since.
func TestDropStaleSecretsCatchesALateCache(t *testing.T) {
	ts := newTestService(t)
	ts.advance(0)
	doomed, _ := ts.newKey(t)
	kept, _ := ts.newKey(t)
	ts.mustCall(t, "Encrypt", map[string]any{"KeyId": kept, "Plaintext": b64("x")})
	early, _ := ts.State.Key(doomed) // what a slow request read
	ts.mustCall(t, "ScheduleKeyDeletion", map[string]any{"KeyId": doomed, "PendingWindowInDays": 7})
	ts.advance(7 * day)
	housekeep(t, ts)
	if ts.State.KeyExists(doomed) {
		t.Fatal("not deleted")
	}
	if e := ts.withMaterial(early, 1, func([]byte) *awserr.Error { return nil }); e != nil {
		t.Fatal(e)
	}
	if cachedMaterial(ts, doomed) != 1 {
		t.Fatal("the late request cached nothing")
	}
	ts.DropStaleSecrets()
	if n := cachedMaterial(ts, doomed); n != 0 {
		t.Fatalf("%d cached material versions of a deleted key after the next pass", n)
	}
	if cachedMaterial(ts, kept) != 1 {
		t.Fatal("the pass dropped the material of a key that exists")
	}
}

func TestHousekeepingRotatesDueKeys(t *testing.T) {
	ts := newTestService(t)
	ts.advance(0)
	id, _ := ts.newKey(t)
	idle, _ := ts.newKey(t)
	disabled, _ := ts.newKey(t)
	ts.mustCall(t, "EnableKeyRotation", map[string]any{"KeyId": id, "RotationPeriodInDays": 90})
	ts.mustCall(t, "EnableKeyRotation", map[string]any{"KeyId": disabled, "RotationPeriodInDays": 90})
	ts.mustCall(t, "DisableKey", map[string]any{"KeyId": disabled})
	old := ts.mustCall(t, "Encrypt", map[string]any{"KeyId": id, "Plaintext": b64("old")})

	ts.advance(89 * day)
	housekeep(t, ts)
	if rot := ts.mustCall(t, "ListKeyRotations", map[string]any{"KeyId": id})["Rotations"].([]any); len(rot) != 0 {
		t.Fatalf("rotated before the date: %v", rot)
	}

	now := ts.advance(day + time.Hour)
	for range 2 { // a second pass finds nothing due
		housekeep(t, ts)
		rot := ts.mustCall(t, "ListKeyRotations", map[string]any{"KeyId": id})["Rotations"].([]any)
		if len(rot) != 1 {
			t.Fatalf("%d rotations, want 1", len(rot))
		}
		if e := rot[0].(map[string]any); e["RotationType"] != "AUTOMATIC" || e["RotationDate"] != epochSeconds(now.UnixNano()) {
			t.Fatalf("rotation: %v", e)
		}
	}
	st := ts.mustCall(t, "GetKeyRotationStatus", map[string]any{"KeyId": id})
	if st["NextRotationDate"] != epochSeconds(now.Add(90*day).UnixNano()) {
		t.Fatalf("NextRotationDate %v, want %v", st["NextRotationDate"], epochSeconds(now.Add(90*day).UnixNano()))
	}
	newer := ts.mustCall(t, "Encrypt", map[string]any{"KeyId": id, "Plaintext": b64("new")})
	if blobVersion(t, newer["CiphertextBlob"]) != 2 {
		t.Fatal("encryption does not use the rotated material")
	}
	if dec := ts.mustCall(t, "Decrypt", map[string]any{"CiphertextBlob": old["CiphertextBlob"]}); dec["Plaintext"] != b64("old") {
		t.Fatal("a ciphertext made before the rotation does not decrypt")
	}
	for _, k := range []string{idle, disabled} {
		if rot := ts.mustCall(t, "ListKeyRotations", map[string]any{"KeyId": k})["Rotations"].([]any); len(rot) != 0 {
			t.Fatalf("key %s rotated: %v", k, rot)
		}
	}
	// A disabled key whose date passed rotates once it is enabled again.
	ts.mustCall(t, "EnableKey", map[string]any{"KeyId": disabled})
	housekeep(t, ts)
	if rot := ts.mustCall(t, "ListKeyRotations", map[string]any{"KeyId": disabled})["Rotations"].([]any); len(rot) != 1 {
		t.Fatalf("re-enabled key: %d rotations, want 1", len(rot))
	}
}

func TestHousekeepingWithShortDays(t *testing.T) {
	ts := newTestService(t)
	ts.DayLength = time.Second
	ts.advance(0)
	id, _ := ts.newKey(t)
	ts.mustCall(t, "ScheduleKeyDeletion", map[string]any{"KeyId": id, "PendingWindowInDays": 7})
	ts.advance(7 * time.Second)
	housekeep(t, ts)
	ts.refused(t, "DescribeKey", map[string]any{"KeyId": id}, "NotFoundException", "")
}

// TestHousekeepingClusterError: a failure to commit ends the pass and is
// returned; the state is untouched.
func TestHousekeepingClusterError(t *testing.T) {
	ts := newTestService(t)
	ts.advance(0)
	id, _ := ts.newKey(t)
	ts.mustCall(t, "ScheduleKeyDeletion", map[string]any{"KeyId": id, "PendingWindowInDays": 7})
	ts.advance(8 * day)
	errNoLeader := errors.New("not the leader")
	ts.Propose = func(context.Context, []byte) (fsm.Result, error) { return fsm.Result{}, errNoLeader }
	if err := ts.Housekeeping(t.Context()); !errors.Is(err, errNoLeader) {
		t.Fatalf("Housekeeping: %v, want %v", err, errNoLeader)
	}
	ts.Propose = ts.apply
	describe(t, ts, id)
}
