package kms

import (
	"testing"
)

// TestKeyStateMatrix runs each operation on a key in each state and wants
// AWS's answer from the key state table: success, or the error and message.
func TestKeyStateMatrix(t *testing.T) {
	const (
		ok       = ""
		disabled = "DisabledException"
		invalid  = "KMSInvalidStateException"
	)
	ops := []string{
		"Encrypt", "Decrypt", "GenerateDataKey", "ReEncrypt", "EnableKey", "DisableKey", "UpdateKeyDescription",
		"TagResource", "CreateAlias", "ScheduleKeyDeletion", "CancelKeyDeletion", "EnableKeyRotation", "RotateKeyOnDemand",
	}
	want := map[string]map[string]string{
		"Enabled": {"CancelKeyDeletion": invalid},
		"Disabled": {
			"Encrypt": disabled, "Decrypt": disabled, "GenerateDataKey": disabled, "ReEncrypt": disabled,
			"EnableKeyRotation": disabled, "RotateKeyOnDemand": disabled, "CancelKeyDeletion": invalid,
		},
		"PendingDeletion": {
			"Encrypt": invalid, "Decrypt": invalid, "GenerateDataKey": invalid, "ReEncrypt": invalid,
			"EnableKey": invalid, "DisableKey": invalid, "UpdateKeyDescription": invalid, "TagResource": invalid,
			"CreateAlias": invalid, "ScheduleKeyDeletion": invalid, "EnableKeyRotation": invalid, "RotateKeyOnDemand": invalid,
		},
	}
	ts := newTestService(t)
	dest, _ := ts.newKey(t)
	for _, state := range []string{"Enabled", "Disabled", "PendingDeletion"} {
		for _, op := range ops {
			t.Run(state+"/"+op, func(t *testing.T) {
				id, arn := ts.newKey(t)
				blob := ts.mustCall(t, "Encrypt", map[string]any{"KeyId": id, "Plaintext": b64("x")})["CiphertextBlob"]
				switch state {
				case "Disabled":
					ts.mustCall(t, "DisableKey", map[string]any{"KeyId": id})
				case "PendingDeletion":
					ts.mustCall(t, "ScheduleKeyDeletion", map[string]any{"KeyId": id})
				}
				in := map[string]any{
					"KeyId": id, "Plaintext": b64("x"), "CiphertextBlob": blob, "KeySpec": "AES_256",
					"DestinationKeyId": dest, "Description": "d", "Tags": []tag{{"a", "b"}},
					"AliasName": "alias/" + state + "-" + op, "TargetKeyId": id,
				}
				typ := want[state][op]
				if typ == ok {
					ts.mustCall(t, op, in)
					return
				}
				msg := arn + " is pending deletion."
				switch {
				case op == "CancelKeyDeletion":
					msg = arn + " is not pending deletion."
				case typ == disabled:
					msg = arn + " is disabled."
				}
				ts.refused(t, op, in, typ, msg)
			})
		}
	}
}
