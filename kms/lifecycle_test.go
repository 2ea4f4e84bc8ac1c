package kms

import (
	"strings"
	"testing"
	"time"
)

func describe(t *testing.T, ts *testService, ref string) map[string]any {
	t.Helper()
	return ts.mustCall(t, "DescribeKey", map[string]any{"KeyId": ref})["KeyMetadata"].(map[string]any)
}

func TestUpdateKeyDescription(t *testing.T) {
	ts := newTestService(t)
	id, arn := ts.newKey(t)
	if out := ts.mustCall(t, "UpdateKeyDescription", map[string]any{"KeyId": arn, "Description": "renamed"}); len(out) != 0 {
		t.Fatalf("UpdateKeyDescription answered %v, want an empty body", out)
	}
	if d := describe(t, ts, id)["Description"]; d != "renamed" {
		t.Fatalf("description %q", d)
	}
	ts.mustCall(t, "UpdateKeyDescription", map[string]any{"KeyId": id, "Description": ""})

	for _, tc := range []struct {
		name     string
		in       map[string]any
		typ, msg string
	}{
		{"no description", map[string]any{"KeyId": id}, "ValidationException", ""},
		{"description too long", map[string]any{"KeyId": id, "Description": strings.Repeat("d", 8193)}, "ValidationException", ""},
		{"unknown key", map[string]any{"KeyId": missingKeyID, "Description": "x"}, "NotFoundException",
			"Key 'arn:aws:kms:us-east-1:111122223333:key/" + missingKeyID + "' does not exist"},
		{"malformed key id", map[string]any{"KeyId": "nope", "Description": "x"}, "NotFoundException", "Invalid keyId 'nope'"},
		{"alias", map[string]any{"KeyId": "alias/x", "Description": "x"}, "NotFoundException", "Invalid keyId 'alias/x'"},
		{"foreign region", map[string]any{"KeyId": "arn:aws:kms:eu-west-1:111122223333:key/" + id, "Description": "x"}, "NotFoundException", ""},
	} {
		t.Run(tc.name, func(t *testing.T) { ts.refused(t, "UpdateKeyDescription", tc.in, tc.typ, tc.msg) })
	}
}

func TestEnableDisableKey(t *testing.T) {
	ts := newTestService(t)
	id, arn := ts.newKey(t)
	for range 2 { // disabling a disabled key succeeds, as in AWS
		if out := ts.mustCall(t, "DisableKey", map[string]any{"KeyId": id}); len(out) != 0 {
			t.Fatalf("DisableKey answered %v", out)
		}
	}
	if md := describe(t, ts, id); md["KeyState"] != "Disabled" || md["Enabled"] != false {
		t.Fatalf("after DisableKey: %v", md)
	}
	ts.refused(t, "Encrypt", map[string]any{"KeyId": id, "Plaintext": b64("x")}, "DisabledException", arn+" is disabled.")
	ts.mustCall(t, "EnableKey", map[string]any{"KeyId": arn})
	ts.mustCall(t, "EnableKey", map[string]any{"KeyId": arn})
	if md := describe(t, ts, id); md["KeyState"] != "Enabled" || md["Enabled"] != true {
		t.Fatalf("after EnableKey: %v", md)
	}
	for _, op := range []string{"EnableKey", "DisableKey"} {
		ts.refused(t, op, map[string]any{"KeyId": missingKeyID}, "NotFoundException", "")
		ts.refused(t, op, map[string]any{}, "ValidationException", "")
		ts.refused(t, op, map[string]any{"KeyId": "arn:aws:kms:us-east-1:111122223333:alias/a"}, "NotFoundException", "")
	}
}

func TestScheduleAndCancelKeyDeletion(t *testing.T) {
	ts := newTestService(t)
	now := ts.advance(0)
	id, arn := ts.newKey(t)
	out := ts.mustCall(t, "ScheduleKeyDeletion", map[string]any{"KeyId": id})
	wantDate := epochSeconds(now.Add(30 * 24 * time.Hour).UnixNano())
	if out["KeyId"] != arn || out["KeyState"] != "PendingDeletion" || out["PendingWindowInDays"] != 30.0 || out["DeletionDate"] != wantDate {
		t.Fatalf("ScheduleKeyDeletion: %v, want DeletionDate %v", out, wantDate)
	}
	md := describe(t, ts, id)
	if md["KeyState"] != "PendingDeletion" || md["Enabled"] != false || md["DeletionDate"] != wantDate || md["PendingDeletionWindowInDays"] != 30.0 {
		t.Fatalf("DescribeKey pending deletion: %v", md)
	}
	ts.refused(t, "ScheduleKeyDeletion", map[string]any{"KeyId": id}, "KMSInvalidStateException", arn+" is pending deletion.")

	out = ts.mustCall(t, "CancelKeyDeletion", map[string]any{"KeyId": arn})
	if len(out) != 1 || out["KeyId"] != arn {
		t.Fatalf("CancelKeyDeletion: %v", out)
	}
	md = describe(t, ts, id)
	if _, ok := md["DeletionDate"]; ok || md["KeyState"] != "Disabled" {
		t.Fatalf("DescribeKey after cancel: %v", md)
	}
	if _, ok := md["PendingDeletionWindowInDays"]; ok {
		t.Fatalf("DescribeKey after cancel: %v", md)
	}
	ts.refused(t, "CancelKeyDeletion", map[string]any{"KeyId": id}, "KMSInvalidStateException", arn+" is not pending deletion.")

	// A disabled key may be scheduled; the window is 7–30 days.
	out = ts.mustCall(t, "ScheduleKeyDeletion", map[string]any{"KeyId": id, "PendingWindowInDays": 7})
	if out["PendingWindowInDays"] != 7.0 || out["DeletionDate"] != epochSeconds(now.Add(7*24*time.Hour).UnixNano()) {
		t.Fatalf("ScheduleKeyDeletion 7 days: %v", out)
	}
	other, _ := ts.newKey(t)
	for _, w := range []int{0, 6, 31, 365} {
		ts.refused(t, "ScheduleKeyDeletion", map[string]any{"KeyId": other, "PendingWindowInDays": w}, "ValidationException", "")
	}
	ts.refused(t, "ScheduleKeyDeletion", map[string]any{"KeyId": missingKeyID}, "NotFoundException", "")
	ts.refused(t, "CancelKeyDeletion", map[string]any{"KeyId": missingKeyID}, "NotFoundException", "")
	ts.refused(t, "ScheduleKeyDeletion", map[string]any{"KeyId": "alias/a"}, "NotFoundException", "Invalid keyId 'alias/a'")
}

func TestDayLength(t *testing.T) {
	ts := newTestService(t)
	ts.DayLength = time.Second
	now := ts.advance(0)
	id, _ := ts.newKey(t)
	out := ts.mustCall(t, "ScheduleKeyDeletion", map[string]any{"KeyId": id, "PendingWindowInDays": 7})
	if out["DeletionDate"] != epochSeconds(now.Add(7*time.Second).UnixNano()) || out["PendingWindowInDays"] != 7.0 {
		t.Fatalf("ScheduleKeyDeletion with 1 s days: %v", out)
	}
	other, _ := ts.newKey(t)
	ts.mustCall(t, "EnableKeyRotation", map[string]any{"KeyId": other, "RotationPeriodInDays": 90})
	st := ts.mustCall(t, "GetKeyRotationStatus", map[string]any{"KeyId": other})
	if st["NextRotationDate"] != epochSeconds(now.Add(90*time.Second).UnixNano()) || st["RotationPeriodInDays"] != 90.0 {
		t.Fatalf("rotation with 1 s days: %v", st)
	}
}
