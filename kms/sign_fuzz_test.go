package kms

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// signFuzzOps are the operations FuzzSigningRequests drives; a seed's
// index names its operation, so new ones go at the end.
var signFuzzOps = []string{"Sign", "Verify", "GetPublicKey", "GenerateMac", "VerifyMac", "CreateKey", "Encapsulate", "Decapsulate"}

// signFuzzSeeds are request bodies naming the keys the target creates
// (by alias: their ids are random), one per operation index.
var signFuzzSeeds = []struct {
	op   uint8
	body string
}{
	{0, `{"KeyId":"alias/ec","Message":"bQ==","SigningAlgorithm":"ECDSA_SHA_256"}`},
	{0, `{"KeyId":"alias/ed","Message":"bQ==","SigningAlgorithm":"ED25519_SHA_512","MessageType":"RAW"}`},
	{0, `{"KeyId":"alias/rsa","Message":"3q2+796tvu/erb7v3q2+796tvu/erb7v3q2+796tvu8=","SigningAlgorithm":"RSASSA_PSS_SHA_256","MessageType":"DIGEST"}`},
	{1, `{"KeyId":"alias/ec","Message":"bQ==","SigningAlgorithm":"ECDSA_SHA_256","Signature":"MAYCAQECAQE="}`},
	{1, `{"KeyId":"alias/rsa","Message":"bQ==","SigningAlgorithm":"RSASSA_PKCS1_V1_5_SHA_256","Signature":"AAAA"}`},
	{2, `{"KeyId":"alias/ed"}`},
	{3, `{"KeyId":"alias/hmac","Message":"bQ==","MacAlgorithm":"HMAC_SHA_256"}`},
	{4, `{"KeyId":"alias/hmac","Message":"bQ==","MacAlgorithm":"HMAC_SHA_256","Mac":"AAAA"}`},
	{5, `{"KeySpec":"HMAC_512","KeyUsage":"GENERATE_VERIFY_MAC"}`},
	{5, `{"CustomerMasterKeySpec":"ECC_NIST_P256","KeyUsage":"SIGN_VERIFY"}`},
	{0, `{"KeyId":"alias/mldsa","Message":"bQ==","SigningAlgorithm":"ML_DSA_SHAKE_256","MessageType":"EXTERNAL_MU"}`},
	{1, `{"KeyId":"alias/mldsa","Message":"bQ==","SigningAlgorithm":"ML_DSA_SHAKE_256","Signature":"AAAA"}`},
	{6, `{"KeyId":"alias/mlkem","EncapsulationAlgorithm":"ML_KEM"}`},
	{7, `{"KeyId":"alias/mlkem","EncapsulationAlgorithm":"ML_KEM","SharedSecretCiphertextBlob":"AAAA"}`},
	{5, `{"KeySpec":"ML_KEM_512","KeyUsage":"ENCAPSULATE_DECAPSULATE"}`},
}

// FuzzSigningRequests: arbitrary bodies to the signing and MAC operations
// (and CreateKey's spec handling) never panic, every refusal is an AWS
// error with a 4xx/5xx status, and a refused request changes nothing. A
// Verify or VerifyMac that succeeds on fuzzed input is a forgery.
func FuzzSigningRequests(f *testing.F) {
	for _, s := range signFuzzSeeds {
		f.Add(s.op, []byte(s.body))
	}
	ts := newTestService(f)
	for alias, in := range map[string]map[string]any{
		"alias/ec": {"KeySpec": "ECC_NIST_P256", "KeyUsage": "SIGN_VERIFY"}, "alias/ed": {"KeySpec": "ECC_NIST_EDWARDS25519", "KeyUsage": "SIGN_VERIFY"},
		"alias/rsa": {"KeySpec": "RSA_2048", "KeyUsage": "SIGN_VERIFY"}, "alias/hmac": {"KeySpec": "HMAC_256", "KeyUsage": "GENERATE_VERIFY_MAC"},
		"alias/mldsa": {"KeySpec": "ML_DSA_44", "KeyUsage": "SIGN_VERIFY"}, "alias/mlkem": {"KeySpec": "ML_KEM_768", "KeyUsage": "ENCAPSULATE_DECAPSULATE"},
	} {
		id := ts.mustCall(f, "CreateKey", in)["KeyMetadata"].(map[string]any)["KeyId"]
		ts.mustCall(f, "CreateAlias", map[string]any{"AliasName": alias, "TargetKeyId": id})
	}
	f.Fuzz(func(t *testing.T, op uint8, body []byte) {
		name := signFuzzOps[int(op)%len(signFuzzOps)]
		before := ts.snapshot(t)
		res, e := ts.Handle(t.Context(), testRoot, name, body)
		if e != nil {
			if e.Type == "" || e.Status < 400 {
				t.Fatalf("%s: malformed error %+v", name, e)
			}
			if !bytes.Equal(before, ts.snapshot(t)) {
				t.Fatalf("%s refused with %s but changed the state", name, e.Type)
			}
			return
		}
		if res == nil {
			t.Fatalf("%s: no result", name)
		}
		if name == "Verify" || name == "VerifyMac" {
			t.Fatalf("%s accepted a fuzzed signature or MAC: %s", name, body)
		}
	})
}

// TestWriteSigningFuzzSeeds writes FuzzSigningRequests' committed corpus;
// run with KEYRAFT_WRITE_SEEDS=1.
func TestWriteSigningFuzzSeeds(t *testing.T) {
	if os.Getenv("KEYRAFT_WRITE_SEEDS") != "1" {
		t.Skip("set KEYRAFT_WRITE_SEEDS=1 to regenerate testdata/fuzz")
	}
	dir := filepath.Join("testdata", "fuzz", "FuzzSigningRequests")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for i, s := range signFuzzSeeds {
		content := fmt.Sprintf("go test fuzz v1\nuint8(%d)\n[]byte(%+q)\n", s.op, s.body)
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("seed-%02d", i)), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
