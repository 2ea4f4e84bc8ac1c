package crypto

import (
	stdcrypto "crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"testing"
)

// signSeeds are well-formed keys of every kind keyraft makes: the fuzzer
// starts from them and mutates them.
func signSeeds(tb testing.TB) [][]byte {
	tb.Helper()
	var out [][]byte
	for _, spec := range []KeySpec{SpecECCSECGP256K1, SpecEd25519, SpecECCNISTP256} {
		der, err := GenerateSigningKey(spec, nil)
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, der)
	}
	// RSA from x509 at 1024 bits: keyraft refuses that size, and a seed
	// the fuzzer can mutate quickly still walks the RSA parsing path.
	rk, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		tb.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(rk)
	if err != nil {
		tb.Fatal(err)
	}
	return append(out, der)
}

// seedAlgs is the algorithm each of signSeeds' keys signs with.
var seedAlgs = []SigAlg{{SchemeECDSA, stdcrypto.SHA256}, {SchemeEd25519, stdcrypto.SHA512}, {SchemeECDSA, stdcrypto.SHA256}, {SchemePSS, stdcrypto.SHA256}}

// FuzzParseSigningKey: a PKCS#8 decoder (ours for secp256k1, x509's for
// the rest) answers a key or an error, never a panic, and a key it answers
// signs and verifies its own signature.
func FuzzParseSigningKey(f *testing.F) {
	f.Fuzz(func(t *testing.T, der []byte) {
		sk, err := ParseSigningKey(der)
		if err != nil {
			return
		}
		if _, err := sk.PublicKeyDER(); err != nil {
			t.Fatalf("a parsed key has no public key: %v", err)
		}
		for _, alg := range []SigAlg{{SchemeECDSA, stdcrypto.SHA256}, {SchemeEd25519, stdcrypto.SHA512}, {SchemePKCS1v15, stdcrypto.SHA256}} {
			sig, err := sk.Sign(alg, []byte("m"), false, nil)
			if err != nil {
				continue
			}
			if err := sk.Verify(alg, []byte("m"), false, sig); err != nil {
				t.Fatalf("a parsed key refuses its own signature: %v", err)
			}
		}
	})
}

// FuzzVerify: any signature bytes (DER for ECDSA, raw for the rest) are
// verified or refused with ErrInvalidSignature, never a panic.
func FuzzVerify(f *testing.F) {
	keys := map[byte]*SigningKey{}
	rsaKey, err := GenerateSigningKey(SpecRSA2048, nil)
	if err != nil {
		f.Fatal(err)
	}
	// signSeeds' RSA key is of a size keyraft refuses: verify with one it makes.
	for i, der := range append(signSeeds(f)[:3], rsaKey) {
		sk, err := ParseSigningKey(der)
		if err != nil {
			f.Fatal(err)
		}
		keys[byte(i)] = sk
	}
	f.Fuzz(func(t *testing.T, which byte, msg, sig []byte) {
		i := which % 4
		err := keys[i].Verify(seedAlgs[i], msg, false, sig)
		if err != nil && !errors.Is(err, ErrInvalidSignature) {
			t.Fatalf("Verify error %v is not ErrInvalidSignature", err)
		}
	})
}

// TestWriteSignSeeds writes the committed corpora of the two targets above;
// run with KEYRAFT_WRITE_SEEDS=1.
func TestWriteSignSeeds(t *testing.T) {
	if os.Getenv("KEYRAFT_WRITE_SEEDS") != "1" {
		t.Skip("set KEYRAFT_WRITE_SEEDS=1 to regenerate testdata/fuzz")
	}
	for i, der := range signSeeds(t) {
		writeSeed(t, "FuzzParseSigningKey", fmt.Sprintf("seed-%02d", i), der)
		sk, _ := ParseSigningKey(der)
		sig, err := sk.Sign(seedAlgs[i], []byte("m"), false, nil)
		if err != nil {
			t.Fatal(err)
		}
		writeFuzzSeed(t, "FuzzVerify", fmt.Sprintf("seed-%02d", i), fmt.Sprintf("byte(%d)", i), fmt.Sprintf("[]byte(%+q)", "m"), fmt.Sprintf("[]byte(%+q)", sig))
	}
}

// writeFuzzSeed writes one corpus file whose values are already in Go's
// fuzz syntax (for targets taking more than byte slices).
func writeFuzzSeed(t *testing.T, target, name string, values ...string) {
	t.Helper()
	dir := "testdata/fuzz/" + target
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	content := "go test fuzz v1\n"
	for _, v := range values {
		content += v + "\n"
	}
	if err := os.WriteFile(dir+"/"+name, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
