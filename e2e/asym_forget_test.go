package e2e

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/asn1"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/keyraft/keyraft/seal"
)

// TestSealForgetsSigningKeys: after `operator seal`, the node's memory holds
// none of the signing and MAC keys it used: not their PKCS#8 material, not
// the Ed25519 seed, the ECDSA and secp256k1 scalars or the HMAC key a
// request parsed out of it. RSA keys are used but not scanned for: Go keeps
// their primes as machine words, not as the bytes a scan could match, so a
// scan for them could not fail.
func TestSealForgetsSigningKeys(t *testing.T) {
	c := startOneNode(t, 3, 2, nil)
	p := c.nodes[0]
	c.unseal(p)
	ctx := ctxTimeout(t, time.Minute)
	root := kmsClient(p.api, c.creds, 3)
	msg := []byte("sealing forgets signing keys")
	for _, sp := range []struct {
		spec types.KeySpec
		alg  types.SigningAlgorithmSpec
	}{{types.KeySpecEccNistP256, "ECDSA_SHA_256"}, {types.KeySpecEccSecgP256k1, "ECDSA_SHA_256"}, {types.KeySpecEccNistEdwards25519, "ED25519_SHA_512"}, {types.KeySpecRsa2048, "RSASSA_PSS_SHA_256"}} {
		ck, err := root.CreateKey(ctx, &kms.CreateKeyInput{KeySpec: sp.spec, KeyUsage: types.KeyUsageTypeSignVerify})
		if err != nil {
			t.Fatal(err)
		}
		out, err := root.Sign(ctx, &kms.SignInput{KeyId: ck.KeyMetadata.KeyId, Message: msg, SigningAlgorithm: sp.alg})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := root.Verify(ctx, &kms.VerifyInput{KeyId: ck.KeyMetadata.KeyId, Message: msg, SigningAlgorithm: sp.alg, Signature: out.Signature}); err != nil {
			t.Fatal(err)
		}
		if _, err := root.GetPublicKey(ctx, &kms.GetPublicKeyInput{KeyId: ck.KeyMetadata.KeyId}); err != nil {
			t.Fatal(err)
		}
	}
	hk, err := root.CreateKey(ctx, &kms.CreateKeyInput{KeySpec: types.KeySpecHmac512, KeyUsage: types.KeyUsageTypeGenerateVerifyMac})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := root.GenerateMac(ctx, &kms.GenerateMacInput{KeyId: hk.KeyMetadata.KeyId, Message: msg, MacAlgorithm: "HMAC_SHA_512"}); err != nil {
		t.Fatal(err)
	}

	var shares [][]byte
	for _, k := range c.creds.Keys {
		b, err := base64.StdEncoding.DecodeString(k)
		if err != nil {
			t.Fatal(err)
		}
		shares = append(shares, b)
	}
	rootKey, err := seal.Combine(shares[:2])
	if err != nil {
		t.Fatal(err)
	}
	var patterns []secretPattern
	for _, m := range secretsInLog(t, p.dataDir, rootKey) {
		if !strings.HasPrefix(m.name, "key material ") {
			continue
		}
		patterns = append(patterns, m)
		patterns = append(patterns, privateScalars(t, m)...)
	}
	if len(patterns) < 5+3 {
		t.Fatalf("only %d patterns from the log: %v", len(patterns), patterns)
	}
	// The scan sees what an unsealed node holds: the HMAC key, cached.
	if hits, err := scanMemory(p.cmd.Process.Pid, patterns); err != nil || len(hits) == 0 {
		t.Fatalf("the unsealed node's key material is not found by the scan (%d hits, %v)", len(hits), err)
	}

	if err := operator(t, p.api, nil, "seal"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the free heap overwritten after the seal", func() (bool, error) {
		return logCount(t, p, "free memory overwritten after seal") > 0, nil
	})
	hits, err := scanMemory(p.cmd.Process.Pid, patterns)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range hits {
		t.Errorf("after seal, memory still holds the %s: %s", h.pattern, h)
	}
	t.Logf("scanned for %d secrets", len(patterns))
}

// privateScalars are the secrets a request parses out of PKCS#8 material:
// the Ed25519 seed, an EC private scalar (NIST through x509, secp256k1
// read as RFC 5915 by hand since x509 lacks the curve). None for RSA or
// HMAC material (an HMAC key is its material).
func privateScalars(t *testing.T, m secretPattern) []secretPattern {
	t.Helper()
	priv, err := x509.ParsePKCS8PrivateKey(m.bytes)
	switch k := priv.(type) {
	case ed25519.PrivateKey:
		return []secretPattern{{m.name + " Ed25519 seed", k.Seed()}}
	case *ecdsa.PrivateKey:
		d, err := k.Bytes()
		if err != nil {
			t.Fatal(err)
		}
		return []secretPattern{{m.name + " ECDSA scalar", d}}
	}
	if err == nil {
		return nil // RSA
	}
	var p8 struct {
		Version int
		Algo    asn1.RawValue
		Key     []byte
	}
	var ec struct {
		Version int
		Key     []byte
	}
	if _, err := asn1.Unmarshal(m.bytes, &p8); err != nil {
		return nil // HMAC material is not DER
	}
	if _, err := asn1.Unmarshal(p8.Key, &ec); err != nil || len(ec.Key) != 32 {
		t.Fatalf("%s: neither x509's nor a secp256k1 PKCS#8 key", m.name)
	}
	return []secretPattern{{m.name + " secp256k1 scalar", ec.Key}}
}
