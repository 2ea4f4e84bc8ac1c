package kms

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// asymEncFuzzOps are the operations FuzzAsymEncRequests drives; a seed's
// index names its operation, so new ones go at the end.
var asymEncFuzzOps = []string{"Encrypt", "Decrypt", "ReEncrypt", "GenerateDataKeyPair", "GenerateDataKeyPairWithoutPlaintext", "DeriveSharedSecret"}

// fuzzPeerKey is a P-256 public key as DER SubjectPublicKeyInfo (base64).
const fuzzPeerKey = "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE15RNRpCFvfwAfIrzHFiMFbQgwamWewFaHxQ7DkaXRyw1nBZk+9VFwgKpSMaMoaIYnRqicovfY8At9So1jAOqRA=="

var asymEncFuzzSeeds = []struct {
	op   uint8
	body string
}{
	{0, `{"KeyId":"alias/rsa","Plaintext":"aGVsbG8=","EncryptionAlgorithm":"RSAES_OAEP_SHA_256"}`},
	{0, `{"KeyId":"alias/rsa","Plaintext":"aGVsbG8=","EncryptionAlgorithm":"RSAES_OAEP_SHA_1","EncryptionContext":{"a":"b"}}`},
	{1, `{"KeyId":"alias/rsa","CiphertextBlob":"AAAA","EncryptionAlgorithm":"RSAES_OAEP_SHA_256"}`},
	{1, `{"CiphertextBlob":"SwEkM2Q0NTJkODA=","EncryptionAlgorithm":"RSAES_OAEP_SHA_1"}`},
	{2, `{"CiphertextBlob":"AAAA","SourceKeyId":"alias/rsa","SourceEncryptionAlgorithm":"RSAES_OAEP_SHA_1","DestinationKeyId":"alias/sym"}`},
	{2, `{"CiphertextBlob":"AAAA","DestinationKeyId":"alias/rsa","DestinationEncryptionAlgorithm":"RSAES_OAEP_SHA_256"}`},
	{3, `{"KeyId":"alias/sym","KeyPairSpec":"ECC_NIST_P256","EncryptionContext":{"a":"b"}}`},
	{4, `{"KeyId":"alias/sym","KeyPairSpec":"ML_KEM_768"}`},
	{5, `{"KeyId":"alias/ecdh","KeyAgreementAlgorithm":"ECDH","PublicKey":"` + fuzzPeerKey + `"}`},
	{5, `{"KeyId":"alias/ecdh","KeyAgreementAlgorithm":"ECDH","PublicKey":"MAA="}`},
}

// FuzzAsymEncRequests: arbitrary bodies to the RSA encryption, data key
// pair and key agreement operations never panic, every refusal is an AWS
// error with a 4xx/5xx status, and nothing changes the replicated state
// (none of these operations writes).
func FuzzAsymEncRequests(f *testing.F) {
	for _, s := range asymEncFuzzSeeds {
		f.Add(s.op, []byte(s.body))
	}
	ts := newTestService(f)
	for alias, in := range map[string]map[string]any{
		"alias/rsa": {"KeySpec": "RSA_2048", "KeyUsage": "ENCRYPT_DECRYPT"}, "alias/sym": {},
		"alias/ecdh": {"KeySpec": "ECC_NIST_P256", "KeyUsage": "KEY_AGREEMENT"},
	} {
		id := ts.mustCall(f, "CreateKey", in)["KeyMetadata"].(map[string]any)["KeyId"]
		ts.mustCall(f, "CreateAlias", map[string]any{"AliasName": alias, "TargetKeyId": id})
	}
	f.Fuzz(func(t *testing.T, op uint8, body []byte) {
		name := asymEncFuzzOps[int(op)%len(asymEncFuzzOps)]
		before := ts.snapshot(t)
		res, e := ts.Handle(t.Context(), testRoot, name, body)
		if !bytes.Equal(before, ts.snapshot(t)) {
			t.Fatalf("%s changed the state", name)
		}
		if e != nil {
			if e.Type == "" || e.Status < 400 {
				t.Fatalf("%s: malformed error %+v", name, e)
			}
			return
		}
		if res == nil {
			t.Fatalf("%s: no result", name)
		}
	})
}

// TestWriteAsymEncFuzzSeeds writes FuzzAsymEncRequests' committed corpus;
// run with KEYRAFT_WRITE_SEEDS=1.
func TestWriteAsymEncFuzzSeeds(t *testing.T) {
	if os.Getenv("KEYRAFT_WRITE_SEEDS") != "1" {
		t.Skip("set KEYRAFT_WRITE_SEEDS=1 to regenerate testdata/fuzz")
	}
	dir := filepath.Join("testdata", "fuzz", "FuzzAsymEncRequests")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for i, s := range asymEncFuzzSeeds {
		content := fmt.Sprintf("go test fuzz v1\nuint8(%d)\n[]byte(%+q)\n", s.op, s.body)
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("seed-%02d", i)), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
