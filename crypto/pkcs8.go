package crypto

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/asn1"
	"fmt"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"
)

// PrivateKey is a parsed private key and its AWS spec. Key is
// *rsa.PrivateKey, *ecdsa.PrivateKey (NIST curves), *secp256k1.PrivateKey,
// ed25519.PrivateKey, or for ML-DSA and ML-KEM the seed as []byte
// (MLDSASeedSize, MLKEMSeedSize bytes).
type PrivateKey struct {
	Spec KeySpec
	Key  any
}

// pkcs8 is RFC 5958's OneAsymmetricKey without its optional attributes and
// public key, which keyraft neither writes nor reads: ParsePrivateKey's
// canonical check refuses a key that carries them.
type pkcs8 struct {
	Version    int
	Algorithm  algorithmIdentifier
	PrivateKey []byte
}

// ecPrivateKey is RFC 5915's ECPrivateKey.
type ecPrivateKey struct {
	Version       int
	PrivateKey    []byte
	NamedCurveOID asn1.ObjectIdentifier `asn1:"optional,explicit,tag:0"`
	PublicKey     asn1.BitString        `asn1:"optional,explicit,tag:1"`
}

// ParsePrivateKey parses a DER PKCS#8 PrivateKeyInfo of any supported spec.
// ML-DSA and ML-KEM keys must hold their seed (the seed or both choice of
// RFC 9881 and RFC 9935; for both, the expanded key must match the seed).
// Errors wrap ErrMalformedKey or ErrUnsupportedKeySpec and name no key bytes.
func ParsePrivateKey(der []byte) (*PrivateKey, error) {
	var p pkcs8
	rest, err := asn1.Unmarshal(der, &p)
	if err != nil {
		return nil, fmt.Errorf("%w: not a PKCS#8 PrivateKeyInfo", ErrMalformedKey)
	}
	if len(rest) != 0 {
		return nil, fmt.Errorf("%w: trailing bytes after PKCS#8", ErrMalformedKey)
	}
	if !canonical(der, p) {
		return nil, fmt.Errorf("%w: PKCS#8 is not in canonical DER or carries attributes", ErrMalformedKey)
	}
	if p.Version != 0 && p.Version != 1 {
		return nil, fmt.Errorf("%w: PKCS#8 version %d", ErrMalformedKey, p.Version)
	}
	alg := p.Algorithm
	switch {
	case alg.Algorithm.Equal(oidRSAEncryption), alg.Algorithm.Equal(oidEd25519):
		return parseStdlibPKCS8(der)
	case alg.Algorithm.Equal(oidECPublicKey):
		spec, err := namedCurve(alg.Parameters)
		if err != nil {
			return nil, err
		}
		if spec != SpecECCSECGP256K1 {
			return parseStdlibPKCS8(der)
		}
		return parseSecp256k1(p.PrivateKey)
	}
	spec, ok := pqSpecByOID(alg.Algorithm)
	if !ok {
		return nil, fmt.Errorf("%w: private key algorithm %v", ErrUnsupportedKeySpec, alg.Algorithm)
	}
	if len(alg.Parameters.FullBytes) != 0 {
		return nil, fmt.Errorf("%w: %s parameters must be absent", ErrMalformedKey, spec)
	}
	seed, err := parsePQPrivateKey(spec, p.PrivateKey)
	if err != nil {
		return nil, err
	}
	return &PrivateKey{Spec: spec, Key: seed}, nil
}

func parseStdlibPKCS8(der []byte) (*PrivateKey, error) {
	k, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("%w: PKCS#8 private key", ErrMalformedKey)
	}
	switch k := k.(type) {
	case *rsa.PrivateKey:
		spec, err := rsaSpec(k.N.BitLen())
		if err != nil {
			return nil, err
		}
		return &PrivateKey{Spec: spec, Key: k}, nil
	case *ecdsa.PrivateKey:
		for _, spec := range []KeySpec{SpecECCNISTP256, SpecECCNISTP384, SpecECCNISTP521} {
			if nistCurve(spec) == k.Curve {
				return &PrivateKey{Spec: spec, Key: k}, nil
			}
		}
	case ed25519.PrivateKey:
		return &PrivateKey{Spec: SpecEd25519, Key: k}, nil
	}
	return nil, fmt.Errorf("%w: private key of type %T", ErrUnsupportedKeySpec, k)
}

// parseSecp256k1 reads RFC 5915's ECPrivateKey for secp256k1: a 32-byte
// scalar in [1, n-1]; an embedded curve must be secp256k1 and an embedded
// public key must be the scalar's.
func parseSecp256k1(inner []byte) (*PrivateKey, error) {
	var ec ecPrivateKey
	rest, err := asn1.Unmarshal(inner, &ec)
	if err != nil || len(rest) != 0 || ec.Version != 1 || len(ec.PrivateKey) != 32 || !canonical(inner, ec) {
		return nil, fmt.Errorf("%w: secp256k1 ECPrivateKey", ErrMalformedKey)
	}
	if len(ec.NamedCurveOID) != 0 && !ec.NamedCurveOID.Equal(oidSecp256k1) {
		return nil, fmt.Errorf("%w: ECPrivateKey names another curve", ErrMalformedKey)
	}
	var s secp256k1.ModNScalar
	overflow := s.SetByteSlice(ec.PrivateKey)
	if overflow || s.IsZero() {
		s.Zero()
		return nil, fmt.Errorf("%w: secp256k1 scalar out of range", ErrMalformedKey)
	}
	priv := secp256k1.NewPrivateKey(&s)
	s.Zero()
	if len(ec.PublicKey.Bytes) != 0 {
		pub, err := parseECPoint(SpecECCSECGP256K1, ec.PublicKey.Bytes)
		if err != nil || !pub.Key.(*secp256k1.PublicKey).IsEqual(priv.PubKey()) {
			priv.Zero()
			return nil, fmt.Errorf("%w: secp256k1 public key does not match the private key", ErrMalformedKey)
		}
	}
	return &PrivateKey{Spec: SpecECCSECGP256K1, Key: priv}, nil
}

// parsePQPrivateKey reads the privateKey OCTET STRING's content of an
// ML-DSA or ML-KEM key: seed [0] IMPLICIT OCTET STRING, or both SEQUENCE
// {seed, expandedKey}. The expanded-only form is refused: keyraft keeps
// seeds, and an expanded key cannot be turned back into one.
func parsePQPrivateKey(spec KeySpec, inner []byte) ([]byte, error) {
	seedSize := MLKEMSeedSize
	if isMLDSA(spec) {
		seedSize = MLDSASeedSize
	}
	var raw asn1.RawValue
	rest, err := asn1.Unmarshal(inner, &raw)
	if err != nil || len(rest) != 0 {
		return nil, fmt.Errorf("%w: %s private key", ErrMalformedKey, spec)
	}
	switch {
	case raw.Class == asn1.ClassContextSpecific && raw.Tag == 0 && !raw.IsCompound:
		if len(raw.Bytes) != seedSize {
			return nil, fmt.Errorf("%w: %s seed must be %d bytes", ErrMalformedKey, spec, seedSize)
		}
		return bytes.Clone(raw.Bytes), nil
	case raw.Class == asn1.ClassUniversal && raw.Tag == asn1.TagSequence:
		var both struct{ Seed, Expanded []byte }
		if rest, err := asn1.Unmarshal(raw.FullBytes, &both); err != nil || len(rest) != 0 || len(both.Seed) != seedSize || !canonical(raw.FullBytes, both) {
			return nil, fmt.Errorf("%w: %s private key (both)", ErrMalformedKey, spec)
		}
		expanded, err := expandPQ(spec, both.Seed)
		if err != nil || !bytes.Equal(expanded, both.Expanded) {
			return nil, fmt.Errorf("%w: %s expanded key does not match its seed", ErrMalformedKey, spec)
		}
		clear(expanded)
		clear(both.Expanded)
		return both.Seed, nil // encoding/asn1 copied it out of inner
	case raw.Class == asn1.ClassUniversal && raw.Tag == asn1.TagOctetString:
		return nil, fmt.Errorf("%w: %s private key without its seed", ErrUnsupportedKeySpec, spec)
	}
	return nil, fmt.Errorf("%w: %s private key", ErrMalformedKey, spec)
}

// MarshalPrivateKey encodes k as DER PKCS#8 (RFC 5958), the form AWS's
// GenerateDataKeyPair returns: ML-DSA and ML-KEM in seed form, secp256k1
// as an RFC 5915 ECPrivateKey with its public key and without parameters
// (they are in the algorithm identifier), as Go writes the NIST curves.
// The result is a secret: the caller wipes it.
func MarshalPrivateKey(k *PrivateKey) ([]byte, error) {
	switch key := k.Key.(type) {
	case *rsa.PrivateKey, *ecdsa.PrivateKey, ed25519.PrivateKey:
		der, err := x509.MarshalPKCS8PrivateKey(key)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrMalformedKey, err)
		}
		return der, nil
	case *secp256k1.PrivateKey:
		scalar := key.Key.Bytes()
		defer clear(scalar[:])
		inner, err := asn1.Marshal(ecPrivateKey{
			Version:    1,
			PrivateKey: scalar[:],
			PublicKey:  asn1.BitString{Bytes: key.PubKey().SerializeUncompressed(), BitLength: 8 * secp256k1.PubKeyBytesLenUncompressed},
		})
		if err != nil {
			return nil, err
		}
		defer clear(inner)
		params, err := asn1.Marshal(oidSecp256k1)
		if err != nil {
			return nil, err
		}
		return asn1.Marshal(pkcs8{
			Algorithm:  algorithmIdentifier{Algorithm: oidECPublicKey, Parameters: asn1.RawValue{FullBytes: params}},
			PrivateKey: inner,
		})
	case []byte:
		oid, ok := pqOIDBySpec(k.Spec)
		want := MLKEMSeedSize
		if isMLDSA(k.Spec) {
			want = MLDSASeedSize
		}
		if !ok || len(key) != want {
			return nil, fmt.Errorf("%w: %s seed", ErrMalformedKey, k.Spec)
		}
		inner, err := asn1.Marshal(asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, Bytes: key})
		if err != nil {
			return nil, err
		}
		defer clear(inner)
		return asn1.Marshal(pkcs8{Algorithm: algorithmIdentifier{Algorithm: oid}, PrivateKey: inner})
	}
	return nil, fmt.Errorf("%w: private key of type %T", ErrUnsupportedKeySpec, k.Key)
}
