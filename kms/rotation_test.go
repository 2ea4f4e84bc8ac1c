package kms

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keyraft/keyraft/crypto"
	"github.com/keyraft/keyraft/seal"
)

// blobVersion is the key material version a ciphertext names.
func blobVersion(t *testing.T, blob any) uint32 {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(blob.(string))
	if err != nil {
		t.Fatal(err)
	}
	hdr, err := crypto.ParseHeader(b)
	if err != nil {
		t.Fatal(err)
	}
	return hdr.KeyVersion
}

func TestRotateKeyOnDemand(t *testing.T) {
	ts := newTestService(t)
	now := ts.advance(0)
	id, arn := ts.newKey(t)
	before := ts.mustCall(t, "Encrypt", map[string]any{"KeyId": id, "Plaintext": b64("before")})
	for range 2 {
		if out := ts.mustCall(t, "RotateKeyOnDemand", map[string]any{"KeyId": id}); len(out) != 1 || out["KeyId"] != arn {
			t.Fatalf("RotateKeyOnDemand: %v", out)
		}
	}
	after := ts.mustCall(t, "Encrypt", map[string]any{"KeyId": id, "Plaintext": b64("after")})
	if v1, v3 := blobVersion(t, before["CiphertextBlob"]), blobVersion(t, after["CiphertextBlob"]); v1 != 1 || v3 != 3 {
		t.Fatalf("ciphertexts under versions %d and %d, want 1 and 3", v1, v3)
	}
	for want, enc := range map[string]map[string]any{"before": before, "after": after} {
		dec := ts.mustCall(t, "Decrypt", map[string]any{"CiphertextBlob": enc["CiphertextBlob"]})
		if dec["Plaintext"] != b64(want) {
			t.Fatalf("%s: decrypts to %v", want, dec["Plaintext"])
		}
	}
	// An on-demand rotation leaves the (disabled) schedule alone.
	if st := ts.mustCall(t, "GetKeyRotationStatus", map[string]any{"KeyId": id}); st["KeyRotationEnabled"] != false || len(st) != 2 {
		t.Fatalf("GetKeyRotationStatus after on-demand rotations: %v", st)
	}

	rot := ts.mustCall(t, "ListKeyRotations", map[string]any{"KeyId": arn})
	entries := rot["Rotations"].([]any)
	if len(entries) != 2 || rot["Truncated"] != false {
		t.Fatalf("ListKeyRotations: %v", rot)
	}
	for i, e := range entries {
		e := e.(map[string]any)
		state := []string{"NON_CURRENT", "CURRENT"}[i]
		if e["KeyId"] != id || e["RotationType"] != "ON_DEMAND" || e["RotationDate"] != epochSeconds(now.UnixNano()) || e["KeyMaterialState"] != state {
			t.Fatalf("rotation %d: %v", i, e)
		}
	}
	all := ts.mustCall(t, "ListKeyRotations", map[string]any{"KeyId": id, "IncludeKeyMaterial": "ALL_KEY_MATERIAL"})["Rotations"].([]any)
	first := all[0].(map[string]any)
	if len(all) != 3 || len(first) != 3 || first["KeyId"] != id || first["KeyMaterialState"] != "NON_CURRENT" {
		t.Fatalf("ListKeyRotations ALL_KEY_MATERIAL: %v", all)
	}
	// Every version has its own KeyMaterialId; the current one is DescribeKey's.
	ids := map[any]bool{}
	for _, e := range all {
		ids[e.(map[string]any)["KeyMaterialId"]] = true
	}
	md := ts.mustCall(t, "DescribeKey", map[string]any{"KeyId": id})["KeyMetadata"].(map[string]any)
	if cur, _ := md["CurrentKeyMaterialId"].(string); len(ids) != 3 || len(cur) != 64 || all[2].(map[string]any)["KeyMaterialId"] != cur {
		t.Fatalf("key material ids %v, current %v", ids, md["CurrentKeyMaterialId"])
	}
	ts.refused(t, "ListKeyRotations", map[string]any{"KeyId": id, "IncludeKeyMaterial": "SOME"}, "ValidationException", "")
	ts.refused(t, "RotateKeyOnDemand", map[string]any{"KeyId": missingKeyID}, "NotFoundException", "")
}

func TestRotateKeyOnDemandLimit(t *testing.T) {
	ts := newTestService(t)
	id, arn := ts.newKey(t)
	for range 25 {
		ts.mustCall(t, "RotateKeyOnDemand", map[string]any{"KeyId": id})
	}
	ts.refused(t, "RotateKeyOnDemand", map[string]any{"KeyId": id}, "LimitExceededException",
		"The on-demand rotations limit has been reached for the given keyId. No more on-demand rotations can be performed for this key: "+arn)
	// Automatic rotations do not count against it.
	ts.mustCall(t, "EnableKeyRotation", map[string]any{"KeyId": id, "RotationPeriodInDays": 90})
	ts.advance(91 * 24 * time.Hour)
	if err := ts.Housekeeping(t.Context()); err != nil {
		t.Fatal(err)
	}
	if all, _ := listAll(t, ts, "ListKeyRotations", "Rotations", map[string]any{"KeyId": id}, 1000); len(all) != 26 {
		t.Fatalf("%d rotations, want 25 on demand and 1 automatic", len(all))
	}
}

func TestKeyRotationSchedule(t *testing.T) {
	ts := newTestService(t)
	now := ts.advance(0)
	id, arn := ts.newKey(t)
	if st := ts.mustCall(t, "GetKeyRotationStatus", map[string]any{"KeyId": arn}); st["KeyRotationEnabled"] != false || st["KeyId"] != arn || len(st) != 2 {
		t.Fatalf("GetKeyRotationStatus of a new key: %v", st)
	}
	if out := ts.mustCall(t, "EnableKeyRotation", map[string]any{"KeyId": id}); len(out) != 0 {
		t.Fatalf("EnableKeyRotation answered %v", out)
	}
	st := ts.mustCall(t, "GetKeyRotationStatus", map[string]any{"KeyId": id})
	if st["KeyRotationEnabled"] != true || st["RotationPeriodInDays"] != 365.0 || st["NextRotationDate"] != epochSeconds(now.Add(365*24*time.Hour).UnixNano()) {
		t.Fatalf("GetKeyRotationStatus with the default period: %v", st)
	}
	for _, days := range []int{90, 2560} {
		ts.mustCall(t, "EnableKeyRotation", map[string]any{"KeyId": id, "RotationPeriodInDays": days})
		if st := ts.mustCall(t, "GetKeyRotationStatus", map[string]any{"KeyId": id}); st["RotationPeriodInDays"] != float64(days) {
			t.Fatalf("period %d: %v", days, st)
		}
	}
	for _, days := range []int{0, 89, 2561} {
		ts.refused(t, "EnableKeyRotation", map[string]any{"KeyId": id, "RotationPeriodInDays": days}, "ValidationException", "")
	}
	if out := ts.mustCall(t, "DisableKeyRotation", map[string]any{"KeyId": id}); len(out) != 0 {
		t.Fatalf("DisableKeyRotation answered %v", out)
	}
	if st := ts.mustCall(t, "GetKeyRotationStatus", map[string]any{"KeyId": id}); st["KeyRotationEnabled"] != false || len(st) != 2 {
		t.Fatalf("GetKeyRotationStatus after disable: %v", st)
	}

	// Rotation settings need an enabled key; the status reads in any state.
	ts.mustCall(t, "EnableKeyRotation", map[string]any{"KeyId": id})
	ts.mustCall(t, "DisableKey", map[string]any{"KeyId": id})
	for _, op := range []string{"EnableKeyRotation", "DisableKeyRotation"} {
		ts.refused(t, op, map[string]any{"KeyId": id}, "DisabledException", arn+" is disabled.")
	}
	if st := ts.mustCall(t, "GetKeyRotationStatus", map[string]any{"KeyId": id}); st["KeyRotationEnabled"] != true {
		t.Fatalf("GetKeyRotationStatus of a disabled key: %v", st)
	}
	ts.mustCall(t, "ScheduleKeyDeletion", map[string]any{"KeyId": id})
	for _, op := range []string{"EnableKeyRotation", "DisableKeyRotation"} {
		ts.refused(t, op, map[string]any{"KeyId": id}, "KMSInvalidStateException", arn+" is pending deletion.")
	}
	ts.mustCall(t, "GetKeyRotationStatus", map[string]any{"KeyId": id})
	ts.mustCall(t, "ListKeyRotations", map[string]any{"KeyId": id})
	for _, op := range []string{"EnableKeyRotation", "DisableKeyRotation", "GetKeyRotationStatus"} {
		ts.refused(t, op, map[string]any{"KeyId": missingKeyID}, "NotFoundException", "")
	}
}

func TestListKeyRotationsPaging(t *testing.T) {
	ts := newTestService(t)
	id, _ := ts.newKey(t)
	for range 5 {
		ts.mustCall(t, "RotateKeyOnDemand", map[string]any{"KeyId": id})
	}
	all, pages := listAll(t, ts, "ListKeyRotations", "Rotations", map[string]any{"KeyId": id}, 2)
	if len(all) != 5 || pages != 3 {
		t.Fatalf("%d rotations in %d pages, want 5 in 3", len(all), pages)
	}
	withFirst, _ := listAll(t, ts, "ListKeyRotations", "Rotations", map[string]any{"KeyId": id, "IncludeKeyMaterial": "ALL_KEY_MATERIAL"}, 4)
	if len(withFirst) != 6 || withFirst[5]["KeyMaterialState"] != "CURRENT" {
		t.Fatalf("all key material: %v", withFirst)
	}
	for _, marker := range []string{"x", "-1", fmt.Sprint(uint64(1) << 33)} {
		ts.refused(t, "ListKeyRotations", map[string]any{"KeyId": id, "Marker": marker}, "InvalidMarkerException", "")
	}
	ts.refused(t, "ListKeyRotations", map[string]any{"KeyId": id, "Limit": 0}, "ValidationException", "")
	ts.refused(t, "ListKeyRotations", map[string]any{"KeyId": id, "Limit": 1001}, "ValidationException", "")
	ts.refused(t, "ListKeyRotations", map[string]any{"KeyId": missingKeyID}, "NotFoundException", "")
}

// TestConcurrentRotations: on-demand rotations racing each other either
// apply or fail with ConflictException; none is lost or applied twice.
func TestConcurrentRotations(t *testing.T) {
	ts := newTestService(t)
	id, _ := ts.newKey(t)
	var wg sync.WaitGroup
	var applied atomic.Int32
	for range 6 {
		wg.Go(func() {
			_, e := ts.call(t, "RotateKeyOnDemand", map[string]any{"KeyId": id})
			switch {
			case e == nil:
				applied.Add(1)
			case e.Type != "ConflictException":
				t.Errorf("RotateKeyOnDemand: %v", e)
			}
		})
	}
	wg.Wait()
	rot := ts.mustCall(t, "ListKeyRotations", map[string]any{"KeyId": id})["Rotations"].([]any)
	if applied.Load() == 0 || len(rot) != int(applied.Load()) {
		t.Fatalf("%d rotations listed, %d reported applied", len(rot), applied.Load())
	}
	enc := ts.mustCall(t, "Encrypt", map[string]any{"KeyId": id, "Plaintext": b64("x")})
	if v := blobVersion(t, enc["CiphertextBlob"]); v != uint32(applied.Load())+1 {
		t.Fatalf("encrypting under version %d after %d rotations", v, applied.Load())
	}
}

func TestRotationWhileSealed(t *testing.T) {
	ts := newTestService(t)
	ts.advance(0)
	id, _ := ts.newKey(t)
	ts.mustCall(t, "EnableKeyRotation", map[string]any{"KeyId": id, "RotationPeriodInDays": 90})
	ts.advance(90 * day)
	ts.sealed.Store(true)
	ts.refused(t, "RotateKeyOnDemand", map[string]any{"KeyId": id}, "ServiceUnavailableException", "")
	before := ts.snapshot(t)
	if err := ts.Housekeeping(t.Context()); !errors.Is(err, seal.ErrSealed) {
		t.Fatalf("Housekeeping while sealed: %v", err)
	}
	if !bytes.Equal(before, ts.snapshot(t)) {
		t.Fatal("Housekeeping changed the state while sealed")
	}
	ts.sealed.Store(false)
	housekeep(t, ts)
	if rot := ts.mustCall(t, "ListKeyRotations", map[string]any{"KeyId": id})["Rotations"].([]any); len(rot) != 1 {
		t.Fatalf("%d rotations after unseal, want 1", len(rot))
	}
}
