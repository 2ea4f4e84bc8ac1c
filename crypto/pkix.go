package crypto

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/asn1"
	"fmt"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"
)

// PublicKey is a parsed public key and the AWS spec it belongs to. Key is
// *rsa.PublicKey, *ecdsa.PublicKey (NIST curves), *secp256k1.PublicKey,
// ed25519.PublicKey, or for ML-DSA and ML-KEM the FIPS 204/203 encoding of
// the key as []byte (already checked to be a valid key of Spec).
type PublicKey struct {
	Spec KeySpec
	Key  any
}

type algorithmIdentifier struct {
	Algorithm  asn1.ObjectIdentifier
	Parameters asn1.RawValue `asn1:"optional"`
}

type subjectPublicKeyInfo struct {
	Algorithm algorithmIdentifier
	PublicKey asn1.BitString
}

// ParsePublicKey parses a DER SubjectPublicKeyInfo (RFC 5280) of any
// supported spec. Errors wrap ErrMalformedKey (bad DER, trailing bytes,
// wrong lengths, explicit curve parameters), ErrInvalidPoint (an EC point
// off its curve, at infinity, or compressed) or ErrUnsupportedKeySpec (an
// algorithm, curve or RSA size AWS does not offer).
func ParsePublicKey(der []byte) (*PublicKey, error) {
	var spki subjectPublicKeyInfo
	rest, err := asn1.Unmarshal(der, &spki)
	if err != nil {
		return nil, fmt.Errorf("%w: not a SubjectPublicKeyInfo", ErrMalformedKey)
	}
	if len(rest) != 0 {
		return nil, fmt.Errorf("%w: trailing bytes after SubjectPublicKeyInfo", ErrMalformedKey)
	}
	if !canonical(der, spki) {
		return nil, fmt.Errorf("%w: SubjectPublicKeyInfo is not in canonical DER", ErrMalformedKey)
	}
	if spki.PublicKey.BitLength%8 != 0 {
		return nil, fmt.Errorf("%w: public key bit string is not whole bytes", ErrMalformedKey)
	}
	// encoding/asn1 returns slices of der; the key must not change when
	// the caller reuses its buffer.
	alg, raw := spki.Algorithm, bytes.Clone(spki.PublicKey.Bytes)
	switch {
	case alg.Algorithm.Equal(oidRSAEncryption):
		return parseRSAPublicKey(der)
	case alg.Algorithm.Equal(oidEd25519):
		if len(alg.Parameters.FullBytes) != 0 || len(raw) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("%w: Ed25519 public key", ErrMalformedKey)
		}
		return &PublicKey{Spec: SpecEd25519, Key: ed25519.PublicKey(raw)}, nil
	case alg.Algorithm.Equal(oidECPublicKey):
		spec, err := namedCurve(alg.Parameters)
		if err != nil {
			return nil, err
		}
		return parseECPoint(spec, raw)
	}
	if spec, ok := pqSpecByOID(alg.Algorithm); ok {
		if len(alg.Parameters.FullBytes) != 0 {
			return nil, fmt.Errorf("%w: %s parameters must be absent", ErrMalformedKey, spec)
		}
		if err := checkPQPublicKey(spec, raw); err != nil {
			return nil, err
		}
		return &PublicKey{Spec: spec, Key: raw}, nil
	}
	return nil, fmt.Errorf("%w: public key algorithm %v", ErrUnsupportedKeySpec, alg.Algorithm)
}

func parseRSAPublicKey(der []byte) (*PublicKey, error) {
	k, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return nil, fmt.Errorf("%w: RSA public key", ErrMalformedKey)
	}
	pub, ok := k.(*rsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("%w: RSA public key", ErrMalformedKey)
	}
	spec, err := rsaSpec(pub.N.BitLen())
	if err != nil {
		return nil, err
	}
	return &PublicKey{Spec: spec, Key: pub}, nil
}

// rsaSpec names the spec of a modulus size; AWS offers no other sizes.
func rsaSpec(bits int) (KeySpec, error) {
	switch bits {
	case 2048:
		return SpecRSA2048, nil
	case 3072:
		return SpecRSA3072, nil
	case 4096:
		return SpecRSA4096, nil
	}
	return "", fmt.Errorf("%w: RSA modulus of %d bits", ErrUnsupportedKeySpec, bits)
}

// namedCurve reads the ECParameters of an id-ecPublicKey algorithm
// identifier. Only namedCurve is accepted (RFC 5480 forbids the others in
// PKIX): explicit parameters are how invalid-curve attacks smuggle a weak
// group in.
func namedCurve(params asn1.RawValue) (KeySpec, error) {
	var oid asn1.ObjectIdentifier
	rest, err := asn1.Unmarshal(params.FullBytes, &oid)
	if err != nil || len(rest) != 0 {
		return "", fmt.Errorf("%w: EC parameters are not a named curve", ErrMalformedKey)
	}
	switch {
	case oid.Equal(oidP256):
		return SpecECCNISTP256, nil
	case oid.Equal(oidP384):
		return SpecECCNISTP384, nil
	case oid.Equal(oidP521):
		return SpecECCNISTP521, nil
	case oid.Equal(oidSecp256k1):
		return SpecECCSECGP256K1, nil
	}
	return "", fmt.Errorf("%w: curve %v", ErrUnsupportedKeySpec, oid)
}

// nistCurve is the elliptic.Curve of a NIST spec, nil for any other spec.
func nistCurve(spec KeySpec) elliptic.Curve {
	switch spec {
	case SpecECCNISTP256:
		return elliptic.P256()
	case SpecECCNISTP384:
		return elliptic.P384()
	case SpecECCNISTP521:
		return elliptic.P521()
	}
	return nil
}

// parseECPoint accepts only the uncompressed form (SEC 1 2.3.3 with 0x04),
// which is what AWS returns and what RFC 5480 requires implementations to
// support; the point must lie on the curve and not be infinity.
func parseECPoint(spec KeySpec, point []byte) (*PublicKey, error) {
	if len(point) == 0 || point[0] != 4 {
		return nil, fmt.Errorf("%w: %s point is not uncompressed", ErrInvalidPoint, spec)
	}
	if spec == SpecECCSECGP256K1 {
		if len(point) != secp256k1.PubKeyBytesLenUncompressed {
			return nil, fmt.Errorf("%w: %s point length", ErrInvalidPoint, spec)
		}
		pub, err := secp256k1.ParsePubKey(point)
		if err != nil {
			return nil, fmt.Errorf("%w: %s point", ErrInvalidPoint, spec)
		}
		return &PublicKey{Spec: spec, Key: pub}, nil
	}
	pub, err := ecdsa.ParseUncompressedPublicKey(nistCurve(spec), point)
	if err != nil {
		return nil, fmt.Errorf("%w: %s point", ErrInvalidPoint, spec)
	}
	return &PublicKey{Spec: spec, Key: pub}, nil
}

// MarshalPublicKey encodes pub as DER SubjectPublicKeyInfo, the form AWS's
// GetPublicKey and GenerateDataKeyPair return.
func MarshalPublicKey(pub *PublicKey) ([]byte, error) {
	switch k := pub.Key.(type) {
	case *rsa.PublicKey, *ecdsa.PublicKey, ed25519.PublicKey:
		der, err := x509.MarshalPKIXPublicKey(k)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrMalformedKey, err)
		}
		return der, nil
	case *secp256k1.PublicKey:
		params, err := asn1.Marshal(oidSecp256k1)
		if err != nil {
			return nil, err
		}
		return marshalSPKI(oidECPublicKey, params, k.SerializeUncompressed())
	case []byte:
		oid, ok := pqOIDBySpec(pub.Spec)
		if !ok {
			return nil, fmt.Errorf("%w: %s", ErrUnsupportedKeySpec, pub.Spec)
		}
		if err := checkPQPublicKey(pub.Spec, k); err != nil {
			return nil, err
		}
		return marshalSPKI(oid, nil, k)
	}
	return nil, fmt.Errorf("%w: public key of type %T", ErrUnsupportedKeySpec, pub.Key)
}

// marshalSPKI builds a SubjectPublicKeyInfo; params nil means absent.
func marshalSPKI(oid asn1.ObjectIdentifier, params, key []byte) ([]byte, error) {
	spki := subjectPublicKeyInfo{
		Algorithm: algorithmIdentifier{Algorithm: oid},
		PublicKey: asn1.BitString{Bytes: key, BitLength: 8 * len(key)},
	}
	if params != nil {
		spki.Algorithm.Parameters = asn1.RawValue{FullBytes: params}
	}
	return asn1.Marshal(spki)
}

// pqSpecByOID and pqOIDBySpec map the ML-DSA and ML-KEM specs to their OIDs.
func pqSpecByOID(oid asn1.ObjectIdentifier) (KeySpec, bool) {
	for spec, o := range pqOIDs {
		if o.Equal(oid) {
			return spec, true
		}
	}
	return "", false
}

func pqOIDBySpec(spec KeySpec) (asn1.ObjectIdentifier, bool) {
	o, ok := pqOIDs[spec]
	return o, ok
}

var pqOIDs = map[KeySpec]asn1.ObjectIdentifier{
	SpecMLDSA44:  oidMLDSA44,
	SpecMLDSA65:  oidMLDSA65,
	SpecMLDSA87:  oidMLDSA87,
	SpecMLKEM512: oidMLKEM512, SpecMLKEM768: oidMLKEM768, SpecMLKEM1024: oidMLKEM1024,
}

// checkPQPublicKey checks that raw is a valid ML-DSA or ML-KEM public key
// of spec: its length, and for ML-KEM the range check FIPS 203 7.2 asks of
// an encapsulation key.
func checkPQPublicKey(spec KeySpec, raw []byte) error {
	if isMLDSA(spec) {
		_, err := mldsaPublicKey(spec, raw)
		return err
	}
	_, err := mlkemEncapsulationKey(spec, raw)
	return err
}

// canonical reports whether der is exactly the encoding of v, the structure
// parsed from it. encoding/asn1 skips elements appended inside a SEQUENCE;
// Wycheproof's InvalidAsn vectors append them. One key must have one
// encoding (fingerprints, comparisons, the cache of a parsed key), so
// anything else is refused.
func canonical(der []byte, v any) bool {
	again, err := asn1.Marshal(v)
	return err == nil && bytes.Equal(again, der)
}
