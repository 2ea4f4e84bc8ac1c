package crypto

import (
	stdcrypto "crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"
	secpecdsa "github.com/decred/dcrd/dcrec/secp256k1/v4/ecdsa"
)

// TestMacWycheproof checks Mac and VerifyMac against Wycheproof's HMAC
// vectors (full-length tags only, as AWS's MACs are). The vectors live
// beside the checkout (../shared/testdata/wycheproof, see its README).
func TestMacWycheproof(t *testing.T) {
	dir := filepath.Join("..", "..", "shared", "testdata", "wycheproof")
	for name, h := range map[string]stdcrypto.Hash{
		"hmac_sha224_test.json": stdcrypto.SHA224, "hmac_sha256_test.json": stdcrypto.SHA256,
		"hmac_sha384_test.json": stdcrypto.SHA384, "hmac_sha512_test.json": stdcrypto.SHA512,
	} {
		raw, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatalf("the Wycheproof vectors must be present: %v", err)
		}
		var file struct {
			TestGroups []struct {
				TagSize int
				Tests   []struct {
					TcID          int `json:"tcId"`
					Key, Msg, Tag string
					Result        string
				}
			}
		}
		if err := json.Unmarshal(raw, &file); err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, g := range file.TestGroups {
			if g.TagSize != 8*h.Size() {
				continue
			}
			for _, tc := range g.Tests {
				key, _ := hex.DecodeString(tc.Key)
				msg, _ := hex.DecodeString(tc.Msg)
				tag, _ := hex.DecodeString(tc.Tag)
				err := VerifyMac(h, key, msg, tag)
				switch tc.Result {
				case "valid":
					if err != nil || hex.EncodeToString(Mac(h, key, msg)) != tc.Tag {
						t.Fatalf("%s #%d: valid vector refused", name, tc.TcID)
					}
				case "invalid":
					if !errors.Is(err, ErrInvalidMac) {
						t.Fatalf("%s #%d: invalid vector accepted", name, tc.TcID)
					}
				}
				n++
			}
		}
		if n < 50 {
			t.Fatalf("%s: only %d vectors checked", name, n)
		}
	}
}

// TestSecp256k1Encoding checks the PKCS#8 and SPKI encodings written here
// against decred's own view of the key, and that signatures made from the
// parsed PKCS#8 verify with the SPKI's point.
func TestSecp256k1Encoding(t *testing.T) {
	der, err := GenerateSigningKey(SpecECCSECGP256K1, nil)
	if err != nil {
		t.Fatal(err)
	}
	sk, err := ParseSigningKey(der)
	if err != nil {
		t.Fatal(err)
	}
	spkiDER, err := sk.PublicKeyDER()
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := ParsePublicKey(spkiDER)
	if err != nil || parsed.Spec != SpecECCSECGP256K1 {
		t.Fatalf("SPKI: %v", err)
	}
	pub := parsed.Key.(*secp256k1.PublicKey)
	alg := SigAlg{Scheme: SchemeECDSA, Hash: stdcrypto.SHA256}
	sig, err := sk.Sign(alg, []byte("m"), false, nil)
	if err != nil {
		t.Fatal(err)
	}
	s, err := secpecdsa.ParseDERSignature(sig)
	h := stdcrypto.SHA256.New()
	h.Write([]byte("m"))
	if err != nil || !s.Verify(h.Sum(nil), pub) {
		t.Fatal("a secp256k1 signature does not verify with its SPKI's point")
	}
	if sk.Verify(alg, []byte("m"), false, sig) != nil || !errors.Is(sk.Verify(alg, []byte("n"), false, sig), ErrInvalidSignature) {
		t.Fatal("Verify")
	}
	// A scalar of zero or above the order is refused, never used.
	bad := append([]byte(nil), der...)
	for i := range 32 {
		bad[len(der)-65-3-2-32+i] = 0xff // the scalar: before the [1] tag, bit string header and point
	}
	if _, err := ParseSigningKey(bad); err == nil {
		t.Fatal("a secp256k1 key with scalar ≥ n parsed")
	}
}

func TestSigningKeyKinds(t *testing.T) {
	for _, tc := range []struct {
		spec KeySpec
		alg  SigAlg
	}{
		{SpecRSA2048, SigAlg{SchemePSS, stdcrypto.SHA384}},
		{SpecRSA2048, SigAlg{SchemePKCS1v15, stdcrypto.SHA512}},
		{SpecECCNISTP521, SigAlg{SchemeECDSA, stdcrypto.SHA512}},
		{SpecEd25519, SigAlg{SchemeEd25519, stdcrypto.SHA512}},
		{SpecEd25519, SigAlg{SchemeEd25519ph, stdcrypto.SHA512}},
	} {
		der, err := GenerateSigningKey(tc.spec, nil)
		if err != nil {
			t.Fatal(err)
		}
		sk, err := ParseSigningKey(der)
		if err != nil {
			t.Fatal(err)
		}
		sig, err := sk.Sign(tc.alg, []byte("m"), false, nil)
		if err != nil {
			t.Fatal(err)
		}
		if sk.Verify(tc.alg, []byte("m"), false, sig) != nil {
			t.Fatalf("%v: own signature refused", tc)
		}
		sig[0] ^= 1
		if !errors.Is(sk.Verify(tc.alg, []byte("m"), false, sig), ErrInvalidSignature) {
			t.Fatalf("%v: altered signature accepted", tc)
		}
	}
	// A scheme that does not fit the key is an error, not a signature.
	der, _ := GenerateSigningKey(SpecEd25519, nil)
	sk, _ := ParseSigningKey(der)
	if _, err := sk.Sign(SigAlg{SchemePSS, stdcrypto.SHA256}, []byte("m"), false, nil); err == nil {
		t.Fatal("Ed25519 key signed PSS")
	}
}

// TestVerifyPSSAnySalt: a PSS signature made with a salt longer than the
// hash (OpenSSL's default) verifies; keyraft's own use the hash's length.
func TestVerifyPSSAnySalt(t *testing.T) {
	der, err := GenerateSigningKey(SpecRSA2048, nil)
	if err != nil {
		t.Fatal(err)
	}
	sk, _ := ParseSigningKey(der)
	priv := sk.priv.(*rsa.PrivateKey)
	h := sha256.Sum256([]byte("m"))
	sig, err := rsa.SignPSS(rand.Reader, priv, stdcrypto.SHA256, h[:], &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthAuto})
	if err != nil {
		t.Fatal(err)
	}
	alg := SigAlg{SchemePSS, stdcrypto.SHA256}
	if err := sk.Verify(alg, []byte("m"), false, sig); err != nil {
		t.Fatalf("a max-salt PSS signature: %v", err)
	}
	own, _ := sk.Sign(alg, []byte("m"), false, nil)
	if rsa.VerifyPSS(&priv.PublicKey, stdcrypto.SHA256, h[:], own, &rsa.PSSOptions{SaltLength: 32}) != nil {
		t.Fatal("keyraft's PSS salt is not the hash's length")
	}
}
