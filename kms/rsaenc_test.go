package kms

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"hash"
	"slices"
	"testing"
)

func rsaPublicKey(tb testing.TB, ts *testService, id string) *rsa.PublicKey {
	tb.Helper()
	der := unb64(tb, ts.mustCall(tb, "GetPublicKey", map[string]any{"KeyId": id})["PublicKey"])
	pub, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		tb.Fatal(err)
	}
	return pub.(*rsa.PublicKey)
}

func oaepHashFor(alg string) hash.Hash {
	if alg == "RSAES_OAEP_SHA_1" {
		return sha1.New()
	}
	return sha256.New()
}

// TestRSAEncryptDecrypt: every RSA size and OAEP hash round-trips through
// the API at AWS's plaintext limit, one byte more is refused, and a
// ciphertext made offline with GetPublicKey's key and the standard library
// decrypts through Decrypt.
func TestRSAEncryptDecrypt(t *testing.T) {
	ts := newTestService(t)
	limits := map[string][2]int{"RSA_2048": {214, 190}, "RSA_3072": {342, 318}, "RSA_4096": {470, 446}}
	for _, spec := range []string{"RSA_2048", "RSA_3072", "RSA_4096"} {
		id, md := ts.newSpecKey(t, spec, usageEncrypt)
		if got := strs(md["EncryptionAlgorithms"]); !slices.Equal(got, rsaEncryption) {
			t.Fatalf("%s EncryptionAlgorithms %v", spec, got)
		}
		pub := rsaPublicKey(t, ts, id)
		for i, alg := range rsaEncryption {
			limit := limits[spec][i]
			pt := bytes.Repeat([]byte{byte(i + 1)}, limit)
			out := ts.mustCall(t, "Encrypt", map[string]any{"KeyId": id, "Plaintext": pt, "EncryptionAlgorithm": alg})
			if out["EncryptionAlgorithm"] != alg {
				t.Fatalf("Encrypt answered %v", out["EncryptionAlgorithm"])
			}
			ct := unb64(t, out["CiphertextBlob"])
			if len(ct) != pub.Size() {
				t.Fatalf("%s %s: ciphertext %d bytes, want the modulus' %d", spec, alg, len(ct), pub.Size())
			}
			dec := ts.mustCall(t, "Decrypt", map[string]any{"KeyId": id, "CiphertextBlob": ct, "EncryptionAlgorithm": alg})
			if !bytes.Equal(unb64(t, dec["Plaintext"]), pt) || dec["EncryptionAlgorithm"] != alg || dec["KeyId"] != md["Arn"] {
				t.Fatalf("%s %s: Decrypt answered %v", spec, alg, dec)
			}
			ts.refused(t, "Encrypt", map[string]any{"KeyId": id, "Plaintext": append(pt, 0), "EncryptionAlgorithm": alg}, "ValidationException", "")

			offline, err := rsa.EncryptOAEP(oaepHashFor(alg), rand.Reader, pub, []byte("offline secret"), nil)
			if err != nil {
				t.Fatal(err)
			}
			dec = ts.mustCall(t, "Decrypt", map[string]any{"KeyId": id, "CiphertextBlob": offline, "EncryptionAlgorithm": alg})
			if string(unb64(t, dec["Plaintext"])) != "offline secret" {
				t.Fatalf("%s %s: offline ciphertext decrypted wrong", spec, alg)
			}
			// The other hash cannot open it, and says nothing more than AWS's
			// InvalidCiphertextException.
			other := rsaEncryption[1-i]
			ts.refused(t, "Decrypt", map[string]any{"KeyId": id, "CiphertextBlob": offline, "EncryptionAlgorithm": other}, "InvalidCiphertextException", "")
		}
	}
}

func TestRSAEncryptionRefusals(t *testing.T) {
	ts := newTestService(t)
	id, _ := ts.newSpecKey(t, "RSA_2048", usageEncrypt)
	symID, _ := ts.newKey(t)
	ct := unb64(t, ts.mustCall(t, "Encrypt", map[string]any{"KeyId": id, "Plaintext": []byte("x"), "EncryptionAlgorithm": "RSAES_OAEP_SHA_256"})["CiphertextBlob"])
	symBlob := unb64(t, ts.mustCall(t, "Encrypt", map[string]any{"KeyId": symID, "Plaintext": []byte("x")})["CiphertextBlob"])

	// No algorithm: RSA keys have no default.
	ts.refused(t, "Encrypt", map[string]any{"KeyId": id, "Plaintext": []byte("x")}, "InvalidKeyUsageException", "Algorithm SYMMETRIC_DEFAULT is incompatible with key spec RSA_2048.")
	ts.refused(t, "Decrypt", map[string]any{"KeyId": id, "CiphertextBlob": ct}, "InvalidKeyUsageException", "Algorithm SYMMETRIC_DEFAULT is incompatible with key spec RSA_2048.")
	ts.refused(t, "Encrypt", map[string]any{"KeyId": id, "Plaintext": []byte("x"), "EncryptionAlgorithm": "SM2PKE"}, "InvalidKeyUsageException", "")
	ts.refused(t, "Encrypt", map[string]any{"KeyId": id, "Plaintext": []byte("x"), "EncryptionAlgorithm": "RSA_OAEP"}, "ValidationException", "")
	// A symmetric key refuses the RSA algorithms.
	ts.refused(t, "Encrypt", map[string]any{"KeyId": symID, "Plaintext": []byte("x"), "EncryptionAlgorithm": "RSAES_OAEP_SHA_1"}, "InvalidKeyUsageException", "")
	// The raw ciphertext names no key: without KeyId it cannot open.
	ts.refused(t, "Decrypt", map[string]any{"CiphertextBlob": ct, "EncryptionAlgorithm": "RSAES_OAEP_SHA_256"}, "InvalidCiphertextException", "")
	// A keyraft blob given to the RSA key, and tampered OAEP, are one error.
	ts.refused(t, "Decrypt", map[string]any{"KeyId": id, "CiphertextBlob": symBlob, "EncryptionAlgorithm": "RSAES_OAEP_SHA_256"}, "InvalidCiphertextException", "")
	bad := bytes.Clone(ct)
	bad[len(bad)/2] ^= 1
	ts.refused(t, "Decrypt", map[string]any{"KeyId": id, "CiphertextBlob": bad, "EncryptionAlgorithm": "RSAES_OAEP_SHA_256"}, "InvalidCiphertextException", "")
	// An encryption context cannot be bound to OAEP here: refused, not ignored.
	ts.refused(t, "Encrypt", map[string]any{"KeyId": id, "Plaintext": []byte("x"), "EncryptionAlgorithm": "RSAES_OAEP_SHA_256", "EncryptionContext": map[string]string{"a": "b"}}, "ValidationException", "")
	ts.refused(t, "Decrypt", map[string]any{"KeyId": id, "CiphertextBlob": ct, "EncryptionAlgorithm": "RSAES_OAEP_SHA_256", "EncryptionContext": map[string]string{"a": "b"}}, "ValidationException", "")
	// Signing keys are not encryption keys.
	signID, _ := ts.newSpecKey(t, "RSA_2048", usageSign)
	ts.refused(t, "Encrypt", map[string]any{"KeyId": signID, "Plaintext": []byte("x"), "EncryptionAlgorithm": "RSAES_OAEP_SHA_256"}, "InvalidKeyUsageException", "")
	ts.refused(t, "Decrypt", map[string]any{"KeyId": signID, "CiphertextBlob": ct, "EncryptionAlgorithm": "RSAES_OAEP_SHA_256"}, "InvalidKeyUsageException", "")
	// GenerateDataKey stays symmetric-only.
	ts.refused(t, "GenerateDataKey", map[string]any{"KeyId": id, "KeySpec": "AES_256"}, "InvalidKeyUsageException", "")
	// A disabled RSA key neither encrypts nor decrypts.
	ts.mustCall(t, "DisableKey", map[string]any{"KeyId": id})
	ts.refused(t, "Decrypt", map[string]any{"KeyId": id, "CiphertextBlob": ct, "EncryptionAlgorithm": "RSAES_OAEP_SHA_256"}, "DisabledException", "")
}

// TestRSAReEncrypt moves a ciphertext between RSA and symmetric keys both
// ways and between two RSA keys.
func TestRSAReEncrypt(t *testing.T) {
	ts := newTestService(t)
	a, _ := ts.newSpecKey(t, "RSA_2048", usageEncrypt)
	b, _ := ts.newSpecKey(t, "RSA_3072", usageEncrypt)
	sym, _ := ts.newKey(t)
	ct := unb64(t, ts.mustCall(t, "Encrypt", map[string]any{"KeyId": a, "Plaintext": []byte("moving"), "EncryptionAlgorithm": "RSAES_OAEP_SHA_1"})["CiphertextBlob"])

	out := ts.mustCall(t, "ReEncrypt", map[string]any{"CiphertextBlob": ct, "SourceKeyId": a, "SourceEncryptionAlgorithm": "RSAES_OAEP_SHA_1",
		"DestinationKeyId": b, "DestinationEncryptionAlgorithm": "RSAES_OAEP_SHA_256"})
	if out["SourceEncryptionAlgorithm"] != "RSAES_OAEP_SHA_1" || out["DestinationEncryptionAlgorithm"] != "RSAES_OAEP_SHA_256" {
		t.Fatalf("ReEncrypt answered %v", out)
	}
	ct2 := unb64(t, out["CiphertextBlob"])
	out = ts.mustCall(t, "ReEncrypt", map[string]any{"CiphertextBlob": ct2, "SourceKeyId": b, "SourceEncryptionAlgorithm": "RSAES_OAEP_SHA_256",
		"DestinationKeyId": sym, "DestinationEncryptionContext": map[string]string{"k": "v"}})
	if out["DestinationEncryptionAlgorithm"] != algSymmetric {
		t.Fatalf("ReEncrypt answered %v", out)
	}
	blob := unb64(t, out["CiphertextBlob"])
	out = ts.mustCall(t, "ReEncrypt", map[string]any{"CiphertextBlob": blob, "SourceEncryptionContext": map[string]string{"k": "v"},
		"DestinationKeyId": a, "DestinationEncryptionAlgorithm": "RSAES_OAEP_SHA_256"})
	back := unb64(t, out["CiphertextBlob"])
	dec := ts.mustCall(t, "Decrypt", map[string]any{"KeyId": a, "CiphertextBlob": back, "EncryptionAlgorithm": "RSAES_OAEP_SHA_256"})
	if string(unb64(t, dec["Plaintext"])) != "moving" {
		t.Fatal("plaintext changed on its way")
	}
	// Without the destination algorithm the RSA key refuses, before writing anything.
	ts.refused(t, "ReEncrypt", map[string]any{"CiphertextBlob": blob, "SourceEncryptionContext": map[string]string{"k": "v"}, "DestinationKeyId": a},
		"InvalidKeyUsageException", "")
}

// TestEncryptionDryRun: DryRun runs every check and then answers
// DryRunOperationException instead of a result, for symmetric and RSA keys.
func TestEncryptionDryRun(t *testing.T) {
	ts := newTestService(t)
	rsaID, _ := ts.newSpecKey(t, "RSA_2048", usageEncrypt)
	sym, _ := ts.newKey(t)
	ct := unb64(t, ts.mustCall(t, "Encrypt", map[string]any{"KeyId": rsaID, "Plaintext": []byte("x"), "EncryptionAlgorithm": "RSAES_OAEP_SHA_1"})["CiphertextBlob"])
	blob := unb64(t, ts.mustCall(t, "Encrypt", map[string]any{"KeyId": sym, "Plaintext": []byte("x")})["CiphertextBlob"])
	for _, c := range []struct {
		op string
		in map[string]any
	}{
		{"Encrypt", map[string]any{"KeyId": rsaID, "Plaintext": []byte("x"), "EncryptionAlgorithm": "RSAES_OAEP_SHA_1", "DryRun": true}},
		{"Encrypt", map[string]any{"KeyId": sym, "Plaintext": []byte("x"), "DryRun": true}},
		{"Decrypt", map[string]any{"KeyId": rsaID, "CiphertextBlob": ct, "EncryptionAlgorithm": "RSAES_OAEP_SHA_1", "DryRun": true}},
		{"Decrypt", map[string]any{"CiphertextBlob": blob, "DryRun": true}},
		{"ReEncrypt", map[string]any{"CiphertextBlob": blob, "DestinationKeyId": rsaID, "DestinationEncryptionAlgorithm": "RSAES_OAEP_SHA_256", "DryRun": true}},
		{"GenerateDataKey", map[string]any{"KeyId": sym, "KeySpec": "AES_256", "DryRun": true}},
		{"GenerateDataKeyWithoutPlaintext", map[string]any{"KeyId": sym, "NumberOfBytes": 16, "DryRun": true}},
	} {
		ts.refused(t, c.op, c.in, "DryRunOperationException", "")
	}
	// A dry run that would fail reports the failure.
	ts.refused(t, "Encrypt", map[string]any{"KeyId": rsaID, "Plaintext": []byte("x"), "DryRun": true}, "InvalidKeyUsageException", "")
}

// BenchmarkRSADecrypt is Decrypt with an RSA_2048 key through the service,
// the private key parsed from its PKCS#8 per call (withPrivateKey).
func BenchmarkRSADecrypt(b *testing.B) {
	ts := newTestService(b)
	id, _ := ts.newSpecKey(b, "RSA_2048", usageEncrypt)
	ct := unb64(b, ts.mustCall(b, "Encrypt", map[string]any{"KeyId": id, "Plaintext": []byte("x"), "EncryptionAlgorithm": "RSAES_OAEP_SHA_256"})["CiphertextBlob"])
	in := map[string]any{"KeyId": id, "CiphertextBlob": ct, "EncryptionAlgorithm": "RSAES_OAEP_SHA_256"}
	for b.Loop() {
		ts.mustCall(b, "Decrypt", in)
	}
}
