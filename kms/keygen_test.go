package kms

import "testing"

// TestRSAKeygenIsBounded: while every RSA key-generation slot is taken, the
// three operations that make an RSA key answer ThrottlingException and
// change nothing; keys that cost microseconds are not held back, and a
// freed slot serves again.
func TestRSAKeygenIsBounded(t *testing.T) {
	ts := newTestService(t)
	ext := ts.newExternalKey(t, "RSA_2048", "SIGN_VERIFY")
	sym, _ := ts.newKey(t)
	keysBefore := len(ts.mustCall(t, "ListKeys", map[string]any{})["Keys"].([]any))

	g := &ts.Service.keygen
	g.init()
	for range cap(g.slots) {
		g.slots <- struct{}{}
	}
	ts.refused(t, "GetParametersForImport", map[string]any{"KeyId": ext,
		"WrappingAlgorithm": "RSA_AES_KEY_WRAP_SHA_256", "WrappingKeySpec": "RSA_2048"}, "ThrottlingException", "")
	ts.refused(t, "GenerateDataKeyPairWithoutPlaintext", map[string]any{"KeyId": sym,
		"KeyPairSpec": "RSA_2048"}, "ThrottlingException", "")
	ts.refused(t, "CreateKey", map[string]any{"KeySpec": "RSA_2048", "KeyUsage": "SIGN_VERIFY"}, "ThrottlingException", "")
	if n := len(ts.mustCall(t, "ListKeys", map[string]any{})["Keys"].([]any)); n != keysBefore {
		t.Fatalf("a throttled CreateKey made a key: %d keys, had %d", n, keysBefore)
	}
	ts.mustCall(t, "GenerateDataKeyPairWithoutPlaintext", map[string]any{"KeyId": sym, "KeyPairSpec": "ECC_NIST_P256"})
	ts.mustCall(t, "CreateKey", map[string]any{"KeySpec": "ECC_NIST_P256", "KeyUsage": "SIGN_VERIFY"})

	<-g.slots
	ts.mustCall(t, "GenerateDataKeyPairWithoutPlaintext", map[string]any{"KeyId": sym, "KeyPairSpec": "RSA_2048"})
	if len(g.slots) != cap(g.slots)-1 {
		t.Fatalf("a served request kept its slot: %d of %d taken", len(g.slots), cap(g.slots))
	}
}
