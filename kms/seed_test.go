package kms

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"testing"
)

// TestSeedFixedMaterial: two services seeded with the same symmetric
// material under the same id (each with its own keyring) decrypt each
// other's ciphertexts, and the seeded alias, tags and description read back.
func TestSeedFixedMaterial(t *testing.T) {
	material := func() []byte { return bytes.Repeat([]byte{0x5a}, 32) }
	desc := "seeded"
	a, b := newTestService(t), newTestService(t)
	for _, ts := range []*testService{a, b} {
		if e := ts.Seed(context.Background(), SeedKey{KeyID: fixedKeyID, Description: &desc, Aliases: []string{"alias/seeded"},
			Tags: [][2]string{{"env", "test"}}, Material: material()}); e != nil {
			t.Fatal(e)
		}
	}
	md := a.mustCall(t, "DescribeKey", map[string]any{"KeyId": "alias/seeded"})["KeyMetadata"].(map[string]any)
	if md["KeyId"] != fixedKeyID || md["Description"] != desc {
		t.Fatalf("alias/seeded: %v", md)
	}
	tags := a.mustCall(t, "ListResourceTags", map[string]any{"KeyId": fixedKeyID})["Tags"].([]any)
	if len(tags) != 1 || tags[0].(map[string]any)["TagKey"] != "env" {
		t.Fatalf("tags %v", tags)
	}
	enc := a.mustCall(t, "Encrypt", map[string]any{"KeyId": "alias/seeded", "Plaintext": []byte("hi")})
	blob, _ := base64.StdEncoding.DecodeString(enc["CiphertextBlob"].(string))
	dec := b.mustCall(t, "Decrypt", map[string]any{"CiphertextBlob": blob})
	if got, _ := base64.StdEncoding.DecodeString(dec["Plaintext"].(string)); string(got) != "hi" {
		t.Fatalf("decrypted %q", got)
	}
}

// TestSeedAsymmetric: fixed PKCS#8 material becomes the key GetPublicKey
// answers for; material of another spec is refused.
func TestSeedAsymmetric(t *testing.T) {
	ts := newTestService(t)
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	der, _ := x509.MarshalPKCS8PrivateKey(priv)
	spec, usage := "ECC_NIST_EDWARDS25519", "SIGN_VERIFY"
	if e := ts.Seed(context.Background(), SeedKey{KeyID: fixedKeyID, KeySpec: &spec, KeyUsage: &usage, Material: der}); e != nil {
		t.Fatal(e)
	}
	out := ts.mustCall(t, "GetPublicKey", map[string]any{"KeyId": fixedKeyID})
	got, _ := base64.StdEncoding.DecodeString(out["PublicKey"].(string))
	want, _ := x509.MarshalPKIXPublicKey(pub)
	if !bytes.Equal(got, want) {
		t.Fatal("the public key is not that of the seeded material")
	}
	p256 := "ECC_NIST_P256"
	der, _ = x509.MarshalPKCS8PrivateKey(priv)
	if e := ts.Seed(context.Background(), SeedKey{KeyID: missingKeyID, KeySpec: &p256, KeyUsage: &usage, Material: der}); e == nil || e.Type != "ValidationException" {
		t.Fatalf("Ed25519 material for a P-256 key: %v, want ValidationException", e)
	}
}

// TestSeedRefusals: what the seed gets wrong is refused with an AWS error
// and changes nothing; the material is cleared either way.
func TestSeedRefusals(t *testing.T) {
	ts := newTestService(t)
	hmac, rsa := "HMAC_256", "RSA_1"
	mac := "GENERATE_VERIFY_MAC"
	for name, k := range map[string]SeedKey{
		"upper-case id":     {KeyID: "1234ABCD-12ab-34cd-56ef-1234567890ab"},
		"not a uuid":        {KeyID: "key-1"},
		"short symmetric":   {KeyID: fixedKeyID, Material: make([]byte, 31)},
		"short hmac":        {KeyID: fixedKeyID, KeySpec: &hmac, KeyUsage: &mac, Material: make([]byte, 16)},
		"unknown spec":      {KeyID: fixedKeyID, KeySpec: &rsa},
		"aws alias":         {KeyID: fixedKeyID, Aliases: []string{"alias/aws/s3"}},
		"not a policy":      {KeyID: fixedKeyID, Policy: &rsa},
		"tag without a key": {KeyID: fixedKeyID, Tags: [][2]string{{"", "v"}}},
	} {
		before := ts.snapshot(t)
		m := bytes.Repeat([]byte{1}, len(k.Material))
		k.Material = m
		if len(m) == 0 {
			k.Material = nil
		}
		if e := ts.Seed(context.Background(), k); e == nil || e.Status != 400 {
			t.Errorf("%s: %v, want a 400 refusal", name, e)
		}
		if !bytes.Equal(before, ts.snapshot(t)) {
			t.Errorf("%s: refused but changed the state", name)
		}
		if bytes.ContainsRune(m, 1) {
			t.Errorf("%s: the material was not cleared", name)
		}
	}
	if e := ts.Seed(context.Background(), SeedKey{KeyID: fixedKeyID}); e != nil {
		t.Fatal(e)
	}
	if e := ts.Seed(context.Background(), SeedKey{KeyID: fixedKeyID}); e == nil || e.Type != "AlreadyExistsException" {
		t.Fatalf("the same id twice: %v", e)
	}
}
