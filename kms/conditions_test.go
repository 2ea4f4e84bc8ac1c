package kms

import (
	"testing"
)

// TestAlgorithmConditions: a key policy's kms:SigningAlgorithm,
// kms:MessageType, kms:KeySpec, kms:KeyUsage, kms:KeyOrigin,
// kms:MacAlgorithm and kms:EncryptionAlgorithm conditions see what the
// request and its key carry.
func TestAlgorithmConditions(t *testing.T) {
	ts := newTestService(t)
	alice := testUser("alice")
	policyWith := func(action, cond string) string {
		return `{"Version":"2012-10-17","Statement":[` +
			`{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"kms:*","Resource":"*"},` +
			`{"Effect":"Allow","Principal":{"AWS":"` + alice.PrincipalARN + `"},"Action":"` + action + `","Resource":"*","Condition":` + cond + `}]}`
	}
	denied := func(op string, in map[string]any) {
		t.Helper()
		if _, e := ts.callAs(t, alice, op, in); e == nil || e.Type != "AccessDeniedException" {
			t.Fatalf("%s %v: got %v, want AccessDeniedException", op, in, e)
		}
	}
	allowed := func(op string, in map[string]any) {
		t.Helper()
		if _, e := ts.callAs(t, alice, op, in); e != nil {
			t.Fatalf("%s %v: %v", op, in, e)
		}
	}

	// Sign only with ECDSA_SHA_256 over RAW messages.
	ec, _ := ts.newSpecKey(t, "ECC_NIST_P256", "SIGN_VERIFY")
	ts.mustCall(t, "PutKeyPolicy", map[string]any{"KeyId": ec, "Policy": policyWith("kms:Sign",
		`{"StringEquals":{"kms:SigningAlgorithm":"ECDSA_SHA_256","kms:MessageType":"RAW","kms:KeySpec":"ECC_NIST_P256","kms:KeyUsage":"SIGN_VERIFY","kms:KeyOrigin":"AWS_KMS"}}`)})
	sign := func(mt string, msg []byte) map[string]any {
		return map[string]any{"KeyId": ec, "Message": msg, "MessageType": mt, "SigningAlgorithm": "ECDSA_SHA_256"}
	}
	allowed("Sign", sign("RAW", []byte("m")))
	denied("Sign", sign("DIGEST", make([]byte, 32)))

	rsa, _ := ts.newSpecKey(t, "RSA_2048", "SIGN_VERIFY")
	ts.mustCall(t, "PutKeyPolicy", map[string]any{"KeyId": rsa, "Policy": policyWith("kms:Sign",
		`{"StringEquals":{"kms:SigningAlgorithm":"RSASSA_PSS_SHA_256"}}`)})
	allowed("Sign", map[string]any{"KeyId": rsa, "Message": []byte("m"), "SigningAlgorithm": "RSASSA_PSS_SHA_256"})
	denied("Sign", map[string]any{"KeyId": rsa, "Message": []byte("m"), "SigningAlgorithm": "RSASSA_PKCS1_V1_5_SHA_256"})
	// A key spec the condition does not name is refused, whatever the algorithm.
	ts.mustCall(t, "PutKeyPolicy", map[string]any{"KeyId": rsa, "Policy": policyWith("kms:Sign",
		`{"StringEquals":{"kms:KeySpec":"RSA_4096"}}`)})
	denied("Sign", map[string]any{"KeyId": rsa, "Message": []byte("m"), "SigningAlgorithm": "RSASSA_PSS_SHA_256"})

	mac, _ := ts.newSpecKey(t, "HMAC_256", "GENERATE_VERIFY_MAC")
	ts.mustCall(t, "PutKeyPolicy", map[string]any{"KeyId": mac, "Policy": policyWith("kms:GenerateMac",
		`{"StringEquals":{"kms:MacAlgorithm":"HMAC_SHA_256"}}`)})
	allowed("GenerateMac", map[string]any{"KeyId": mac, "Message": []byte("m"), "MacAlgorithm": "HMAC_SHA_256"})
	ts.mustCall(t, "PutKeyPolicy", map[string]any{"KeyId": mac, "Policy": policyWith("kms:GenerateMac",
		`{"StringEquals":{"kms:MacAlgorithm":"HMAC_SHA_512"}}`)})
	denied("GenerateMac", map[string]any{"KeyId": mac, "Message": []byte("m"), "MacAlgorithm": "HMAC_SHA_256"})

	// A symmetric key's operations carry kms:EncryptionAlgorithm SYMMETRIC_DEFAULT,
	// named in the request or not.
	sym, _ := ts.newKey(t)
	ts.mustCall(t, "PutKeyPolicy", map[string]any{"KeyId": sym, "Policy": policyWith("kms:GenerateDataKey",
		`{"StringEquals":{"kms:EncryptionAlgorithm":"SYMMETRIC_DEFAULT"}}`)})
	allowed("GenerateDataKey", map[string]any{"KeyId": sym, "KeySpec": "AES_256"})
	ts.mustCall(t, "PutKeyPolicy", map[string]any{"KeyId": sym, "Policy": policyWith("kms:GenerateDataKey",
		`{"StringEquals":{"kms:EncryptionAlgorithm":"RSAES_OAEP_SHA_256"}}`)})
	denied("GenerateDataKey", map[string]any{"KeyId": sym, "KeySpec": "AES_256"})

	// An RSA key's Encrypt and Decrypt carry the algorithm the request names.
	rsaEnc, _ := ts.newSpecKey(t, "RSA_2048", "ENCRYPT_DECRYPT")
	ts.mustCall(t, "PutKeyPolicy", map[string]any{"KeyId": rsaEnc, "Policy": policyWith("kms:*crypt",
		`{"StringEquals":{"kms:EncryptionAlgorithm":"RSAES_OAEP_SHA_256"}}`)})
	out, e := ts.callAs(t, alice, "Encrypt", map[string]any{"KeyId": rsaEnc, "Plaintext": []byte("m"), "EncryptionAlgorithm": "RSAES_OAEP_SHA_256"})
	if e != nil {
		t.Fatalf("Encrypt with the allowed algorithm: %v", e)
	}
	blob := out["CiphertextBlob"]
	denied("Encrypt", map[string]any{"KeyId": rsaEnc, "Plaintext": []byte("m"), "EncryptionAlgorithm": "RSAES_OAEP_SHA_1"})
	allowed("Decrypt", map[string]any{"KeyId": rsaEnc, "CiphertextBlob": blob, "EncryptionAlgorithm": "RSAES_OAEP_SHA_256"})
	denied("Decrypt", map[string]any{"KeyId": rsaEnc, "CiphertextBlob": blob, "EncryptionAlgorithm": "RSAES_OAEP_SHA_1"})
}
