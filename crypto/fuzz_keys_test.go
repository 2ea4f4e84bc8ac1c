package crypto

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"encoding/asn1"
	"errors"
	"fmt"
	"os"
	"testing"
)

// fuzzECDHKey is the KMS key FuzzParsePublicKey derives secrets with: a
// fixed P-256 scalar, so every run does the same arithmetic.
func fuzzECDHKey(t testing.TB) *ecdsa.PrivateKey {
	k, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), bytes.Repeat([]byte{0x11}, 32))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// FuzzParsePublicKey: ParsePublicKey never panics; every error is one of
// the documented kinds; whatever parses re-encodes to exactly the input
// (one key, one encoding) and parses again to the same spec; and
// DeriveSharedSecret refuses or accepts the same bytes consistently.
func FuzzParsePublicKey(f *testing.F) {
	priv := fuzzECDHKey(f)
	f.Fuzz(func(t *testing.T, der []byte) {
		p, err := ParsePublicKey(der)
		_, derr := DeriveSharedSecret(priv, der)
		if err != nil {
			if !errors.Is(err, ErrMalformedKey) && !errors.Is(err, ErrInvalidPoint) && !errors.Is(err, ErrUnsupportedKeySpec) {
				t.Fatalf("ParsePublicKey error %v is none of the documented kinds", err)
			}
			if derr == nil {
				t.Fatalf("DeriveSharedSecret accepted what ParsePublicKey refuses: %v", err)
			}
			return
		}
		if (derr == nil) != (p.Spec == SpecECCNISTP256) {
			t.Fatalf("DeriveSharedSecret with a P-256 key on a %s public key: %v", p.Spec, derr)
		}
		again, err := MarshalPublicKey(p)
		if err != nil {
			t.Fatalf("%s parses but does not encode: %v", p.Spec, err)
		}
		if !bytes.Equal(again, der) {
			t.Fatalf("%s re-encodes differently:\n got %x\nwant %x", p.Spec, again, der)
		}
	})
}

// FuzzParsePrivateKey: ParsePrivateKey never panics; every error is one of
// the documented kinds; whatever parses has a public key, encodes, and the
// encoding parses again to the same spec and encodes to itself. Its corpus
// has no whole RSA key (TestWriteKeySeeds says why).
func FuzzParsePrivateKey(f *testing.F) {
	f.Fuzz(func(t *testing.T, der []byte) {
		k, err := ParsePrivateKey(der)
		if err != nil {
			if !errors.Is(err, ErrMalformedKey) && !errors.Is(err, ErrUnsupportedKeySpec) {
				t.Fatalf("ParsePrivateKey error %v is none of the documented kinds", err)
			}
			return
		}
		if _, err := k.PublicKeyDER(); err != nil {
			t.Fatalf("%s parses but has no public key: %v", k.Spec, err)
		}
		enc, err := MarshalPrivateKey(k)
		if err != nil {
			t.Fatalf("%s parses but does not encode: %v", k.Spec, err)
		}
		k2, err := ParsePrivateKey(enc)
		if err != nil || k2.Spec != k.Spec {
			t.Fatalf("%s re-encoding does not parse: %v", k.Spec, err)
		}
		enc2, err := MarshalPrivateKey(k2)
		if err != nil || !bytes.Equal(enc, enc2) {
			t.Fatalf("%s encoding is not stable: %v", k.Spec, err)
		}
	})
}

// TestWriteKeySeeds regenerates the committed seed corpora of
// FuzzParsePublicKey and FuzzParsePrivateKey: a key of every spec, forms
// other tools write, and near misses. The keys are throwaway test keys.
//
//	KEYRAFT_WRITE_SEEDS=1 go test ./crypto -run TestWriteKeySeeds
func TestWriteKeySeeds(t *testing.T) {
	if os.Getenv("KEYRAFT_WRITE_SEEDS") != "1" {
		t.Skip("set KEYRAFT_WRITE_SEEDS=1 to regenerate testdata/fuzz")
	}
	var pubs, privs [][]byte
	for _, spec := range AllKeySpecs {
		priv, pub, err := GenerateDataKeyPair(spec, nil)
		if err != nil {
			t.Fatal(err)
		}
		pubs = append(pubs, pub)
		if !isRSA(spec) {
			privs = append(privs, priv)
			continue
		}
		// A whole RSA private key costs crypto/x509 seconds of checks
		// under the fuzzer's instrumentation, which stalls it (unit
		// tests parse whole ones); seed the RSA route with a key whose
		// inner RSAPrivateKey is cut short instead.
		var p pkcs8
		if _, err := asn1.Unmarshal(priv, &p); err != nil {
			t.Fatal(err)
		}
		p.PrivateKey = p.PrivateKey[:64]
		cut, err := asn1.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		privs = append(privs, cut)
	}
	// Peer keys of the ECDH vectors: invalid curves, explicit parameters,
	// compressed points, ASN.1 near misses.
	for _, g := range loadWycheproof(t, "ecdh_secp256r1_test.json") {
		for _, tc := range g.Tests {
			if tc.TcID%9 == 0 || tc.Result == "invalid" {
				pubs = append(pubs, unhex(t, tc.Public))
			}
		}
	}
	// The ML-KEM "both" form, an expanded-only key, and a secp256k1 key
	// with its curve inside (as openssl writes it).
	seed := bytes.Repeat([]byte{7}, MLKEMSeedSize)
	expanded, err := expandPQ(SpecMLKEM512, seed)
	if err != nil {
		t.Fatal(err)
	}
	both, _ := asn1.Marshal(struct{ Seed, Expanded []byte }{seed, expanded})
	only, _ := asn1.Marshal(expanded)
	for _, inner := range [][]byte{both, only} {
		der, _ := asn1.Marshal(pkcs8{Algorithm: algorithmIdentifier{Algorithm: oidMLKEM512}, PrivateKey: inner})
		privs = append(privs, der)
	}
	params, _ := asn1.Marshal(oidSecp256k1)
	inner, _ := asn1.Marshal(ecPrivateKey{Version: 1, PrivateKey: bytes.Repeat([]byte{1}, 32), NamedCurveOID: oidSecp256k1})
	der, _ := asn1.Marshal(pkcs8{Algorithm: algorithmIdentifier{Algorithm: oidECPublicKey, Parameters: asn1.RawValue{FullBytes: params}}, PrivateKey: inner})
	privs = append(privs, der, []byte{0x30, 0x00}, nil)
	pubs = append(pubs, []byte{0x30, 0x03, 0x30, 0x01, 0x00}, nil)
	for i, b := range pubs {
		writeSeed(t, "FuzzParsePublicKey", fmt.Sprintf("seed-%02d", i), b)
	}
	for i, b := range privs {
		writeSeed(t, "FuzzParsePrivateKey", fmt.Sprintf("seed-%02d", i), b)
	}
}
