package crypto

import (
	"bytes"
	"crypto/mldsa"
	"crypto/sha256"
	"crypto/sha3"
	"encoding/hex"
	"errors"
	"testing"

	"github.com/cloudflare/circl/sign"
	"github.com/cloudflare/circl/sign/mldsa/mldsa44"
	"github.com/cloudflare/circl/sign/mldsa/mldsa65"
	"github.com/cloudflare/circl/sign/mldsa/mldsa87"
	"github.com/keyraft/keyraft/internal/wipe"
)

// TestMLDSAKeyGenKAT: the first NIST ACVP ML-DSA keyGen vector of each
// parameter set (FIPS 204 ACVP server, tcId 1, 26, 51: the seed ξ and the
// SHA-256 of the expected public key).
func TestMLDSAKeyGenKAT(t *testing.T) {
	for _, c := range []struct {
		spec           KeySpec
		seed, pkSHA256 string
	}{
		{SpecMLDSA44, "93EF2E6EF1FB08999D142ABE0295482370D3F43BDB254A78E2B0D5168ECA065F",
			"6995b20ecd5cde41719035028a712ccf35b1adf53b913030423d9d6fa188d673"},
		{SpecMLDSA65, "70CEFB9AED5B68E018B079DA8284B9D5CAD5499ED9C265FF73588005D85C225C",
			"646b26b8d09dbc9e865b6a006c693a3127b065e62fab5fbe8b159c416462feb6"},
		{SpecMLDSA87, "38359FBCD79582CFFE609E137EE2EFE8A8DBCBAD18BA92BB433AB4F09B49299D",
			"ea374a09356e5f89be784f28f4ef938e8976cb5c4db00fbacb257663491748d4"},
	} {
		pk, err := MLDSAPublicKey(c.spec, unhex(t, c.seed))
		if err != nil {
			t.Fatal(err)
		}
		if sum := sha256.Sum256(pk); hex.EncodeToString(sum[:]) != c.pkSHA256 {
			t.Errorf("%s: public key SHA-256 %x, want %s", c.spec, sum, c.pkSHA256)
		}
	}
}

// TestMLDSASignVerify: RAW signatures verify here and with circl's own
// package-level Verify (empty context) from the public key parsed out of
// the SPKI; signing is hedged (two signatures differ); a changed message
// or signature is ErrInvalidSignature.
func TestMLDSASignVerify(t *testing.T) {
	verifiers := map[KeySpec]func(pk, msg, sig []byte) bool{
		SpecMLDSA44: func(pk, msg, sig []byte) bool {
			var p mldsa44.PublicKey
			return p.UnmarshalBinary(pk) == nil && mldsa44.Verify(&p, msg, nil, sig)
		},
		SpecMLDSA65: func(pk, msg, sig []byte) bool {
			var p mldsa65.PublicKey
			return p.UnmarshalBinary(pk) == nil && mldsa65.Verify(&p, msg, nil, sig)
		},
		SpecMLDSA87: func(pk, msg, sig []byte) bool {
			var p mldsa87.PublicKey
			return p.UnmarshalBinary(pk) == nil && mldsa87.Verify(&p, msg, nil, sig)
		},
	}
	msg := []byte("keyraft signs this")
	for spec, verify := range verifiers {
		der, k := GenerateDataKeyPairPublic(t, spec)
		pub, err := ParsePublicKey(der)
		if err != nil {
			t.Fatal(err)
		}
		pk := pub.Key.([]byte)
		seed := k.Key.([]byte)
		sig, err := MLDSASign(spec, seed, msg, MessageRaw)
		if err != nil {
			t.Fatal(err)
		}
		if len(sig) != MLDSASignatureSize(spec) {
			t.Errorf("%s: signature %d bytes", spec, len(sig))
		}
		if err := MLDSAVerify(spec, pk, msg, sig, MessageRaw); err != nil {
			t.Errorf("%s: own signature: %v", spec, err)
		}
		if !verify(pk, msg, sig) {
			t.Errorf("%s: circl's Verify refuses the signature", spec)
		}
		sig2, _ := MLDSASign(spec, seed, msg, "")
		if bytes.Equal(sig, sig2) {
			t.Errorf("%s: two signatures are equal: signing is not hedged", spec)
		}
		bad := bytes.Clone(sig)
		bad[0] ^= 1
		for name, c := range map[string][2][]byte{
			"message": {[]byte("keyraft signs that"), sig}, "signature": {msg, bad},
			"short signature": {msg, sig[1:]}, "empty signature": {msg, nil},
		} {
			if err := MLDSAVerify(spec, pk, c[0], c[1], MessageRaw); !errors.Is(err, ErrInvalidSignature) {
				t.Errorf("%s: changed %s: %v", spec, name, err)
			}
		}
		if err := MLDSAVerify(spec, pk[1:], msg, sig, MessageRaw); !errors.Is(err, ErrMalformedKey) {
			t.Errorf("%s: short public key: %v", spec, err)
		}
	}
}

// TestMLDSAMessageTypes: EXTERNAL_MU takes exactly 64 bytes, signs them and
// refuses to verify them (crypto/mldsa has no μ verifier: DESIGN.md); DIGEST
// is no ML-DSA message type.
func TestMLDSAMessageTypes(t *testing.T) {
	seed := bytes.Repeat([]byte{3}, MLDSASeedSize)
	pk, err := MLDSAPublicKey(SpecMLDSA65, seed)
	if err != nil {
		t.Fatal(err)
	}
	mu := bytes.Repeat([]byte{9}, MLDSAMuSize)
	for _, c := range []struct {
		mt              MessageType
		msg             []byte
		signErr, verErr error
	}{
		{MessageExternalMu, mu, nil, ErrExternalMuUnsupported},
		{MessageExternalMu, mu[1:], ErrInvalidMessage, ErrInvalidMessage},
		{MessageExternalMu, append(bytes.Clone(mu), 0), ErrInvalidMessage, ErrInvalidMessage},
		{MessageDigest, mu[:32], ErrInvalidMessage, ErrInvalidMessage},
		{"SHA3", mu, ErrInvalidMessage, ErrInvalidMessage},
	} {
		sig, err := MLDSASign(SpecMLDSA65, seed, c.msg, c.mt)
		if !errors.Is(err, c.signErr) {
			t.Errorf("sign %s %d bytes: %v, want %v", c.mt, len(c.msg), err, c.signErr)
		}
		if err == nil && len(sig) != MLDSASignatureSize(SpecMLDSA65) {
			t.Errorf("sign %s: %d-byte signature", c.mt, len(sig))
		}
		if err := MLDSAVerify(SpecMLDSA65, pk, c.msg, make([]byte, MLDSASignatureSize(SpecMLDSA65)), c.mt); !errors.Is(err, c.verErr) {
			t.Errorf("verify %s %d bytes: %v, want %v", c.mt, len(c.msg), err, c.verErr)
		}
	}
	if _, err := MLDSASign(SpecMLDSA65, seed[1:], []byte("m"), MessageRaw); !errors.Is(err, ErrMalformedKey) {
		t.Errorf("short seed: %v", err)
	}
	if _, err := MLDSASign(SpecMLKEM768, seed, []byte("m"), MessageRaw); !errors.Is(err, ErrUnsupportedKeySpec) {
		t.Errorf("ML-KEM spec: %v", err)
	}
	if _, err := MLDSASign(SpecMLKEM768, seed, mu, MessageExternalMu); !errors.Is(err, ErrUnsupportedKeySpec) {
		t.Errorf("ML-KEM spec, EXTERNAL_MU: %v", err)
	}
}

// externalMu is RFC 9881's μ = SHAKE256(SHAKE256(pk, 64) ‖ 0 ‖ len(ctx) ‖
// ctx ‖ M, 64), computed as a client would, from the public key alone.
func externalMu(pk []byte, ctx string, msg []byte) []byte {
	tr := sha3.SumSHAKE256(pk, 64)
	h := sha3.NewSHAKE256()
	h.Write(tr[:])
	h.Write([]byte{0, byte(len(ctx))})
	h.Write([]byte(ctx))
	h.Write(msg)
	mu := make([]byte, 64)
	h.Read(mu)
	return mu
}

// TestMLDSAExternalMu: a signature over μ computed client-side is a valid
// pure ML-DSA signature of the message μ came from, for our own RAW verify
// and circl's, with the empty context and with one (circl takes a context);
// over another message it is not. Signing μ is hedged too.
func TestMLDSAExternalMu(t *testing.T) {
	circlVerify := map[KeySpec]func(pk, msg, ctx, sig []byte) bool{
		SpecMLDSA44: func(pk, msg, ctx, sig []byte) bool {
			var p mldsa44.PublicKey
			return p.UnmarshalBinary(pk) == nil && mldsa44.Verify(&p, msg, ctx, sig)
		},
		SpecMLDSA65: func(pk, msg, ctx, sig []byte) bool {
			var p mldsa65.PublicKey
			return p.UnmarshalBinary(pk) == nil && mldsa65.Verify(&p, msg, ctx, sig)
		},
		SpecMLDSA87: func(pk, msg, ctx, sig []byte) bool {
			var p mldsa87.PublicKey
			return p.UnmarshalBinary(pk) == nil && mldsa87.Verify(&p, msg, ctx, sig)
		},
	}
	msg := []byte("a message keyraft never sees")
	for spec, verify := range circlVerify {
		seed := bytes.Repeat([]byte{byte(len(spec))}, MLDSASeedSize)
		pk, err := MLDSAPublicKey(spec, seed)
		if err != nil {
			t.Fatal(err)
		}
		mu := externalMu(pk, "", msg)
		sig, err := MLDSASign(spec, seed, mu, MessageExternalMu)
		if err != nil {
			t.Fatalf("%s: %v", spec, err)
		}
		if err := MLDSAVerify(spec, pk, msg, sig, MessageRaw); err != nil {
			t.Errorf("%s: signature over μ does not verify as RAW over its message: %v", spec, err)
		}
		if !verify(pk, msg, nil, sig) {
			t.Errorf("%s: circl refuses the signature over μ", spec)
		}
		if err := MLDSAVerify(spec, pk, []byte("another message"), sig, MessageRaw); !errors.Is(err, ErrInvalidSignature) {
			t.Errorf("%s: signature over μ verifies for another message: %v", spec, err)
		}
		if sig2, _ := MLDSASign(spec, seed, mu, MessageExternalMu); bytes.Equal(sig, sig2) {
			t.Errorf("%s: two signatures over μ are equal: signing is not hedged", spec)
		}
		ctxSig, err := MLDSASign(spec, seed, externalMu(pk, "keyraft-ctx", msg), MessageExternalMu)
		if err != nil {
			t.Fatal(err)
		}
		if !verify(pk, msg, []byte("keyraft-ctx"), ctxSig) || verify(pk, msg, nil, ctxSig) {
			t.Errorf("%s: a μ with a context does not bind that context", spec)
		}
	}
}

// TestMLDSAKeysWipeable: the expanded private keys withMLDSAKey (Go's) and
// mldsaExpanded (circl's) drop can be zeroed whole, and are.
func TestMLDSAKeysWipeable(t *testing.T) {
	seed := bytes.Repeat([]byte{4}, MLDSASeedSize)
	for spec, p := range mldsaSets {
		sk, err := mldsa.NewPrivateKey(p, seed)
		if err != nil {
			t.Fatal(err)
		}
		if !wipe.Deep(sk) {
			t.Errorf("%s: Go's private key cannot be wiped", spec)
		}
		if bytes.ContainsFunc(sk.Bytes(), func(r rune) bool { return r != 0 }) {
			t.Errorf("%s: seed still readable after wipe", spec)
		}
	}
	for _, s := range []sign.Scheme{mldsa44.Scheme(), mldsa65.Scheme(), mldsa87.Scheme()} {
		_, sk := s.DeriveKey(seed)
		if !wipe.Deep(sk) {
			t.Errorf("%s: circl's private key cannot be wiped", s.Name())
		}
		b, err := sk.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		if bytes.ContainsFunc(b[32:64], func(r rune) bool { return r != 0 }) {
			t.Errorf("%s: K still readable after wipe", s.Name())
		}
	}
}
