package kms

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"
)

const aliasARNPrefix = "arn:aws:kms:us-east-1:111122223333:"

func TestCreateAlias(t *testing.T) {
	ts := newTestService(t)
	id, arn := ts.newKey(t)
	before := ts.snapshot(t)
	if out := ts.mustCall(t, "CreateAlias", map[string]any{"AliasName": "alias/app", "TargetKeyId": id}); len(out) != 0 {
		t.Fatalf("CreateAlias answered %v", out)
	}
	if bytes.Equal(before, ts.snapshot(t)) {
		t.Fatal("CreateAlias did not change the state")
	}
	ts.mustCall(t, "CreateAlias", map[string]any{"AliasName": "alias/by-arn/x_y-Z9", "TargetKeyId": arn})
	disabled, _ := ts.newKey(t)
	ts.mustCall(t, "DisableKey", map[string]any{"KeyId": disabled})
	ts.mustCall(t, "CreateAlias", map[string]any{"AliasName": "alias/disabled", "TargetKeyId": disabled})
	pending, pendingARN := ts.newKey(t)
	ts.mustCall(t, "ScheduleKeyDeletion", map[string]any{"KeyId": pending})

	for _, tc := range []struct {
		name, alias, target string
		typ, msg            string
	}{
		{"exists", "alias/app", id, "AlreadyExistsException", "An alias with the name " + aliasARNPrefix + "alias/app already exists"},
		{"exists for another key", "alias/app", disabled, "AlreadyExistsException", ""},
		{"no prefix", "app2", id, "ValidationException", `Alias must start with the prefix "alias/". Please see https://docs.aws.amazon.com/kms/latest/developerguide/kms-alias.html`},
		{"space", "alias/bad name", id, "ValidationException", ""},
		{"colon", "alias/a:b", id, "ValidationException", "alias/a:b contains invalid characters for an alias"},
		{"empty name", "alias/", id, "ValidationException", ""},
		{"empty", "", id, "ValidationException", ""},
		{"too long", "alias/" + strings.Repeat("a", 251), id, "ValidationException", ""},
		{"reserved", "alias/aws/mine", id, "InvalidAliasNameException", ""},
		{"target is an alias", "alias/x", "alias/app", "ValidationException", "Aliases must refer to keys. Not aliases"},
		{"target is an alias ARN", "alias/x", aliasARNPrefix + "alias/app", "ValidationException", "Aliases must refer to keys. Not aliases"},
		{"target missing", "alias/x", missingKeyID, "NotFoundException", "Key '" + aliasARNPrefix + "key/" + missingKeyID + "' does not exist"},
		{"target malformed", "alias/x", "nope", "NotFoundException", "Invalid keyId 'nope'"},
		{"target empty", "alias/x", "", "ValidationException", ""},
		{"target pending deletion", "alias/x", pending, "KMSInvalidStateException", pendingARN + " is pending deletion."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts.refused(t, "CreateAlias", map[string]any{"AliasName": tc.alias, "TargetKeyId": tc.target}, tc.typ, tc.msg)
		})
	}
	// 256 characters is the limit, inclusive.
	ts.mustCall(t, "CreateAlias", map[string]any{"AliasName": "alias/" + strings.Repeat("a", 250), "TargetKeyId": id})
}

// TestAliasResolution: alias names and alias ARNs name a key wherever AWS
// documents them (crypto operations, DescribeKey), and are refused where
// AWS wants a key id or key ARN.
func TestAliasResolution(t *testing.T) {
	ts := newTestService(t)
	id, arn := ts.newKey(t)
	other, otherARN := ts.newKey(t)
	ts.mustCall(t, "CreateAlias", map[string]any{"AliasName": "alias/app", "TargetKeyId": id})
	for _, ref := range []string{"alias/app", aliasARNPrefix + "alias/app"} {
		if md := describe(t, ts, ref); md["KeyId"] != id {
			t.Fatalf("DescribeKey %s: %v", ref, md)
		}
		enc := ts.mustCall(t, "Encrypt", map[string]any{"KeyId": ref, "Plaintext": b64("hi")})
		if enc["KeyId"] != arn {
			t.Fatalf("Encrypt by %s: %v", ref, enc)
		}
		dec := ts.mustCall(t, "Decrypt", map[string]any{"CiphertextBlob": enc["CiphertextBlob"], "KeyId": ref})
		if dec["Plaintext"] != b64("hi") {
			t.Fatalf("Decrypt naming %s: %v", ref, dec)
		}
		dk := ts.mustCall(t, "GenerateDataKey", map[string]any{"KeyId": ref, "KeySpec": "AES_256"})
		if dk["KeyId"] != arn {
			t.Fatalf("GenerateDataKey by %s: %v", ref, dk)
		}
		ts.mustCall(t, "GenerateDataKeyWithoutPlaintext", map[string]any{"KeyId": ref, "NumberOfBytes": 16})
		otherEnc := ts.mustCall(t, "Encrypt", map[string]any{"KeyId": other, "Plaintext": b64("move")})
		re := ts.mustCall(t, "ReEncrypt", map[string]any{"CiphertextBlob": otherEnc["CiphertextBlob"], "DestinationKeyId": ref, "SourceKeyId": otherARN})
		if re["KeyId"] != arn || re["SourceKeyId"] != otherARN {
			t.Fatalf("ReEncrypt to %s: %v", ref, re)
		}
	}
	ts.refused(t, "Encrypt", map[string]any{"KeyId": "alias/none", "Plaintext": b64("x")}, "NotFoundException",
		"Alias "+aliasARNPrefix+"alias/none is not found.")
	ts.refused(t, "DescribeKey", map[string]any{"KeyId": "arn:aws:kms:eu-west-1:111122223333:alias/app"}, "NotFoundException", "")

	// Operations that take only a key id or key ARN.
	for _, op := range []string{
		"UpdateKeyDescription", "EnableKey", "DisableKey", "ScheduleKeyDeletion", "CancelKeyDeletion",
		"TagResource", "UntagResource", "ListResourceTags", "ListAliases",
		"EnableKeyRotation", "DisableKeyRotation", "GetKeyRotationStatus", "RotateKeyOnDemand", "ListKeyRotations",
	} {
		for _, ref := range []string{"alias/app", aliasARNPrefix + "alias/app"} {
			in := map[string]any{"KeyId": ref, "Description": "d", "Tags": []tag{{"a", "b"}}, "TagKeys": []string{"a"}}
			ts.refused(t, op, in, "NotFoundException", "Invalid keyId '"+ref+"'")
		}
	}
}

func TestUpdateAlias(t *testing.T) {
	ts := newTestService(t)
	now := ts.advance(0)
	a, _ := ts.newKey(t)
	b, bARN := ts.newKey(t)
	ts.mustCall(t, "CreateAlias", map[string]any{"AliasName": "alias/app", "TargetKeyId": a})
	ts.advance(time.Minute)
	if out := ts.mustCall(t, "UpdateAlias", map[string]any{"AliasName": "alias/app", "TargetKeyId": bARN}); len(out) != 0 {
		t.Fatalf("UpdateAlias answered %v", out)
	}
	if md := describe(t, ts, "alias/app"); md["KeyId"] != b {
		t.Fatalf("alias still points at %v", md["KeyId"])
	}
	list := ts.mustCall(t, "ListAliases", map[string]any{})["Aliases"].([]any)
	entry := list[0].(map[string]any)
	if entry["TargetKeyId"] != b || entry["CreationDate"] != epochSeconds(now.UnixNano()) ||
		entry["LastUpdatedDate"] != epochSeconds(now.Add(time.Minute).UnixNano()) {
		t.Fatalf("ListAliases after update: %v", entry)
	}

	// The source may be pending deletion, the destination may not.
	ts.mustCall(t, "ScheduleKeyDeletion", map[string]any{"KeyId": b})
	ts.mustCall(t, "UpdateAlias", map[string]any{"AliasName": "alias/app", "TargetKeyId": a})
	ts.refused(t, "UpdateAlias", map[string]any{"AliasName": "alias/app", "TargetKeyId": b}, "KMSInvalidStateException", bARN+" is pending deletion.")
	ts.refused(t, "UpdateAlias", map[string]any{"AliasName": "alias/none", "TargetKeyId": a}, "NotFoundException",
		"Alias "+aliasARNPrefix+"alias/none is not found.")
	ts.refused(t, "UpdateAlias", map[string]any{"AliasName": "alias/app", "TargetKeyId": missingKeyID}, "NotFoundException", "")
	ts.refused(t, "UpdateAlias", map[string]any{"AliasName": "alias/app", "TargetKeyId": "alias/app"}, "ValidationException", "")
	ts.refused(t, "UpdateAlias", map[string]any{"AliasName": "app", "TargetKeyId": a}, "ValidationException", "")
}

func TestDeleteAlias(t *testing.T) {
	ts := newTestService(t)
	id, _ := ts.newKey(t)
	ts.mustCall(t, "CreateAlias", map[string]any{"AliasName": "alias/app", "TargetKeyId": id})
	if out := ts.mustCall(t, "DeleteAlias", map[string]any{"AliasName": "alias/app"}); len(out) != 0 {
		t.Fatalf("DeleteAlias answered %v", out)
	}
	ts.refused(t, "DeleteAlias", map[string]any{"AliasName": "alias/app"}, "NotFoundException", "Alias "+aliasARNPrefix+"alias/app is not found.")
	ts.refused(t, "DeleteAlias", map[string]any{"AliasName": "app"}, "ValidationException", "")
	ts.refused(t, "DeleteAlias", map[string]any{}, "ValidationException", "")
	ts.refused(t, "Encrypt", map[string]any{"KeyId": "alias/app", "Plaintext": b64("x")}, "NotFoundException", "")

	// An alias of a key pending deletion can still be deleted.
	ts.mustCall(t, "CreateAlias", map[string]any{"AliasName": "alias/app", "TargetKeyId": id})
	ts.mustCall(t, "ScheduleKeyDeletion", map[string]any{"KeyId": id})
	ts.mustCall(t, "DeleteAlias", map[string]any{"AliasName": "alias/app"})
}

// listAll pages through a List operation with limit and returns the entries
// of member and the number of pages.
func listAll(t *testing.T, ts *testService, op, member string, in map[string]any, limit int) ([]map[string]any, int) {
	t.Helper()
	var all []map[string]any
	var marker any
	for pages := 1; ; pages++ {
		req := map[string]any{"Limit": limit}
		for k, v := range in {
			req[k] = v
		}
		if marker != nil {
			req["Marker"] = marker
		}
		out := ts.mustCall(t, op, req)
		entries := out[member].([]any)
		if len(entries) > limit {
			t.Fatalf("%s: %d entries with Limit %d", op, len(entries), limit)
		}
		for _, e := range entries {
			all = append(all, e.(map[string]any))
		}
		marker = out["NextMarker"]
		if out["Truncated"] != true {
			if marker != nil {
				t.Fatalf("%s: NextMarker on the last page", op)
			}
			return all, pages
		}
	}
}

func TestListAliases(t *testing.T) {
	ts := newTestService(t)
	a, _ := ts.newKey(t)
	b, _ := ts.newKey(t)
	for i := range 7 {
		target := a
		if i%2 == 1 {
			target = b
		}
		ts.mustCall(t, "CreateAlias", map[string]any{"AliasName": fmt.Sprintf("alias/n%d", i), "TargetKeyId": target})
	}
	all, pages := listAll(t, ts, "ListAliases", "Aliases", nil, 3)
	if len(all) != 7 || pages != 3 {
		t.Fatalf("%d aliases in %d pages, want 7 in 3", len(all), pages)
	}
	for i, e := range all {
		name := fmt.Sprintf("alias/n%d", i)
		if e["AliasName"] != name || e["AliasArn"] != aliasARNPrefix+name {
			t.Fatalf("entry %d: %v", i, e)
		}
	}
	ofB, _ := listAll(t, ts, "ListAliases", "Aliases", map[string]any{"KeyId": aliasARNPrefix + "key/" + b}, 2)
	if len(ofB) != 3 || ofB[0]["AliasName"] != "alias/n1" || ofB[2]["AliasName"] != "alias/n5" {
		t.Fatalf("aliases of b: %v", ofB)
	}
	// A Limit above the documented 100 is served, not refused.
	if out := ts.mustCall(t, "ListAliases", map[string]any{"Limit": 1000}); len(out["Aliases"].([]any)) != 7 || out["Truncated"] != false {
		t.Fatalf("ListAliases Limit 1000: %v", out)
	}
	if out := ts.mustCall(t, "ListAliases", map[string]any{"Marker": "alias/n6"}); len(out["Aliases"].([]any)) != 0 {
		t.Fatalf("ListAliases after the last alias: %v", out)
	}
	ts.refused(t, "ListAliases", map[string]any{"Limit": 0}, "ValidationException", "")
	ts.refused(t, "ListAliases", map[string]any{"Limit": 1001}, "ValidationException", "")
	ts.refused(t, "ListAliases", map[string]any{"Marker": ""}, "ValidationException", "")
	ts.refused(t, "ListAliases", map[string]any{"Marker": "\u0100"}, "ValidationException", "")
	ts.refused(t, "ListAliases", map[string]any{"KeyId": missingKeyID}, "NotFoundException", "")
}
