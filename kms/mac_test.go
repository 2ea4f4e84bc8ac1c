package kms

import (
	"crypto/hmac"
	"slices"
	"testing"

	"github.com/keyraft/keyraft/internal/awserr"
)

func TestMacEverySpec(t *testing.T) {
	ts := newTestService(t)
	msg := []byte("the message keyraft MACs")
	for spec, size := range map[string]int{"HMAC_224": 28, "HMAC_256": 32, "HMAC_384": 48, "HMAC_512": 64} {
		id, md := ts.newSpecKey(t, spec, "GENERATE_VERIFY_MAC")
		alg := keySpecs[spec].algorithms[usageMac][0]
		if !slices.Equal(strs(md["MacAlgorithms"]), []string{alg}) {
			t.Fatalf("%s metadata: %v", spec, md)
		}
		k, _ := ts.State.Key(id)
		var material []byte
		_ = ts.withMaterial(k, 1, func(m []byte) *awserr.Error { material = slices.Clone(m); return nil })
		if len(material) != size {
			t.Fatalf("%s material is %d bytes, AWS's is %d", spec, len(material), size)
		}
		out := ts.mustCall(t, "GenerateMac", map[string]any{"KeyId": id, "Message": msg, "MacAlgorithm": alg})
		mac := unb64(t, out["Mac"])
		want := hmac.New(macHashByName[alg].New, material)
		want.Write(msg)
		if !hmac.Equal(mac, want.Sum(nil)) || out["MacAlgorithm"] != alg || out["KeyId"] != ts.arn(id) {
			t.Fatalf("%s GenerateMac: %v", spec, out)
		}
		v := ts.mustCall(t, "VerifyMac", map[string]any{"KeyId": id, "Message": msg, "MacAlgorithm": alg, "Mac": mac})
		if v["MacValid"] != true || v["MacAlgorithm"] != alg {
			t.Fatalf("%s VerifyMac: %v", spec, v)
		}
		bad := slices.Clone(mac)
		bad[0] ^= 1
		ts.refused(t, "VerifyMac", map[string]any{"KeyId": id, "Message": msg, "MacAlgorithm": alg, "Mac": bad}, "KMSInvalidMacException", "")
		ts.refused(t, "VerifyMac", map[string]any{"KeyId": id, "Message": msg, "MacAlgorithm": alg, "Mac": mac[:len(mac)-1]}, "KMSInvalidMacException", "")
		ts.refused(t, "VerifyMac", map[string]any{"KeyId": id, "Message": []byte("other"), "MacAlgorithm": alg, "Mac": mac}, "KMSInvalidMacException", "")
	}
}

func TestMacErrors(t *testing.T) {
	ts := newTestService(t)
	hm, _ := ts.newSpecKey(t, "HMAC_256", "GENERATE_VERIFY_MAC")
	sym, _ := ts.newKey(t)
	ec, _ := ts.newSpecKey(t, "ECC_NIST_P256", "SIGN_VERIFY")
	msg := []byte("m")
	for _, tc := range []struct {
		op       string
		in       map[string]any
		typ, msg string
	}{
		{"GenerateMac", map[string]any{"KeyId": hm, "Message": msg}, "ValidationException", "1 validation error detected: Value at 'macAlgorithm' failed to satisfy constraint: Member must not be null"},
		{"GenerateMac", map[string]any{"KeyId": hm, "Message": msg, "MacAlgorithm": "HMAC_SHA_1"}, "ValidationException", ""},
		{"GenerateMac", map[string]any{"KeyId": hm, "MacAlgorithm": "HMAC_SHA_256"}, "ValidationException", ""},
		{"GenerateMac", map[string]any{"KeyId": hm, "Message": make([]byte, 4097), "MacAlgorithm": "HMAC_SHA_256"}, "ValidationException", ""},
		{"GenerateMac", map[string]any{"KeyId": hm, "Message": msg, "MacAlgorithm": "HMAC_SHA_512"}, "InvalidKeyUsageException", "Algorithm HMAC_SHA_512 is incompatible with key spec HMAC_256."},
		{"GenerateMac", map[string]any{"KeyId": sym, "Message": msg, "MacAlgorithm": "HMAC_SHA_256"}, "InvalidKeyUsageException", ts.arn(sym) + " key usage is ENCRYPT_DECRYPT which is not valid for GenerateMac."},
		{"GenerateMac", map[string]any{"KeyId": ec, "Message": msg, "MacAlgorithm": "HMAC_SHA_256"}, "InvalidKeyUsageException", ""},
		{"GenerateMac", map[string]any{"KeyId": hm, "Message": msg, "MacAlgorithm": "HMAC_SHA_256", "DryRun": true}, "DryRunOperationException", ""},
		{"VerifyMac", map[string]any{"KeyId": hm, "Message": msg, "MacAlgorithm": "HMAC_SHA_256"}, "ValidationException", "1 validation error detected: Value at 'mac' failed to satisfy constraint: Member must have length greater than or equal to 1"},
		{"Sign", map[string]any{"KeyId": hm, "Message": msg, "SigningAlgorithm": "ECDSA_SHA_256"}, "InvalidKeyUsageException", ts.arn(hm) + " key usage is GENERATE_VERIFY_MAC which is not valid for Sign."},
		{"Encrypt", map[string]any{"KeyId": hm, "Plaintext": msg}, "InvalidKeyUsageException", ""},
	} {
		ts.refused(t, tc.op, tc.in, tc.typ, tc.msg)
	}
	ts.mustCall(t, "ScheduleKeyDeletion", map[string]any{"KeyId": hm, "PendingWindowInDays": 7})
	ts.refused(t, "GenerateMac", map[string]any{"KeyId": hm, "Message": msg, "MacAlgorithm": "HMAC_SHA_256"}, "KMSInvalidStateException", "")
}
