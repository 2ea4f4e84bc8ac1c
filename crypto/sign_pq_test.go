package crypto

import (
	"bytes"
	"errors"
	"testing"
)

// TestSigningKeyPostQuantum: a parsed ML-DSA key signs and verifies through
// SigningKey with SchemeMLDSA only; a parsed ML-KEM key encapsulates and
// decapsulates and signs nothing; Zero clears the seed.
func TestSigningKeyPostQuantum(t *testing.T) {
	msg := []byte("m")
	for _, spec := range []KeySpec{SpecMLDSA44, SpecMLDSA65, SpecMLDSA87} {
		der, err := GenerateSigningKey(spec, nil)
		if err != nil {
			t.Fatal(err)
		}
		sk, err := ParseSigningKey(der)
		if err != nil {
			t.Fatalf("%s: %v", spec, err)
		}
		alg := SigAlg{Scheme: SchemeMLDSA}
		sig, err := sk.Sign(alg, msg, false, nil)
		if err != nil || len(sig) != MLDSASignatureSize(spec) {
			t.Fatalf("%s Sign: %v", spec, err)
		}
		if err := sk.Verify(alg, msg, false, sig); err != nil {
			t.Fatalf("%s Verify: %v", spec, err)
		}
		if err := sk.Verify(alg, []byte("n"), false, sig); !errors.Is(err, ErrInvalidSignature) {
			t.Fatalf("%s Verify of another message: %v", spec, err)
		}
		if _, err := sk.Sign(alg, msg, true, nil); err == nil {
			t.Fatalf("%s signed a digest", spec)
		}
		if _, err := sk.Sign(SigAlg{Scheme: SchemeECDSA}, msg, false, nil); err == nil {
			t.Fatalf("%s signed ECDSA", spec)
		}
		if _, _, err := sk.Encapsulate(); err == nil {
			t.Fatalf("%s encapsulated", spec)
		}
		seed := sk.priv.([]byte)
		sk.Zero()
		if !bytes.Equal(seed, make([]byte, len(seed))) {
			t.Fatalf("%s seed not cleared", spec)
		}
	}
	for _, spec := range []KeySpec{SpecMLKEM512, SpecMLKEM768, SpecMLKEM1024} {
		der, err := GenerateSigningKey(spec, nil)
		if err != nil {
			t.Fatal(err)
		}
		sk, err := ParseSigningKey(der)
		if err != nil {
			t.Fatalf("%s: %v", spec, err)
		}
		ss, ct, err := sk.Encapsulate()
		if err != nil || len(ct) != MLKEMCiphertextSize(spec) {
			t.Fatalf("%s Encapsulate: %v", spec, err)
		}
		got, err := sk.Decapsulate(ct)
		if err != nil || !bytes.Equal(got, ss) {
			t.Fatalf("%s Decapsulate: %v", spec, err)
		}
		if _, err := sk.Decapsulate(ct[1:]); !errors.Is(err, ErrInvalidCiphertext) {
			t.Fatalf("%s short ciphertext: %v", spec, err)
		}
		if _, err := sk.Sign(SigAlg{Scheme: SchemeMLDSA}, msg, false, nil); err == nil {
			t.Fatalf("%s signed", spec)
		}
		if _, err := sk.PublicKeyDER(); err != nil {
			t.Fatal(err)
		}
		sk.Zero()
	}
}
