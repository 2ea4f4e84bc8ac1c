package crypto

import (
	"encoding/asn1"
	"errors"
)

// KeySpec names an asymmetric key type exactly as AWS KMS spells it in
// KeySpec and DataKeyPairSpec, so the KMS layer can pass the request's
// string through without a mapping table of its own.
type KeySpec string

// The asymmetric key specs this package generates, encodes and parses.
const (
	SpecRSA2048       KeySpec = "RSA_2048"
	SpecRSA3072       KeySpec = "RSA_3072"
	SpecRSA4096       KeySpec = "RSA_4096"
	SpecECCNISTP256   KeySpec = "ECC_NIST_P256"
	SpecECCNISTP384   KeySpec = "ECC_NIST_P384"
	SpecECCNISTP521   KeySpec = "ECC_NIST_P521"
	SpecECCSECGP256K1 KeySpec = "ECC_SECG_P256K1"
	SpecEd25519       KeySpec = "ECC_NIST_EDWARDS25519"
	SpecMLDSA44       KeySpec = "ML_DSA_44"
	SpecMLDSA65       KeySpec = "ML_DSA_65"
	SpecMLDSA87       KeySpec = "ML_DSA_87"
	SpecMLKEM512      KeySpec = "ML_KEM_512"
	SpecMLKEM768      KeySpec = "ML_KEM_768"
	SpecMLKEM1024     KeySpec = "ML_KEM_1024"
)

// AllKeySpecs lists every asymmetric spec this package handles, in the
// order of AWS's KeySpec enum (the symmetric and HMAC specs, and SM2 of
// the China Regions, left out).
var AllKeySpecs = []KeySpec{
	SpecRSA2048, SpecRSA3072, SpecRSA4096,
	SpecECCNISTP256, SpecECCNISTP384, SpecECCNISTP521, SpecECCSECGP256K1,
	SpecMLDSA44, SpecMLDSA65, SpecMLDSA87,
	SpecEd25519,
	SpecMLKEM512, SpecMLKEM768, SpecMLKEM1024,
}

// Object identifiers of the algorithms in SubjectPublicKeyInfo and PKCS#8
// (RFC 8017, RFC 5480, SEC 2, RFC 8410; the ML-DSA and ML-KEM ones from
// NIST's CSOR registry, as RFC 9881 and RFC 9935 use them).
var (
	oidRSAEncryption = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 1}
	oidECPublicKey   = asn1.ObjectIdentifier{1, 2, 840, 10045, 2, 1}
	oidP256          = asn1.ObjectIdentifier{1, 2, 840, 10045, 3, 1, 7}
	oidP384          = asn1.ObjectIdentifier{1, 3, 132, 0, 34}
	oidP521          = asn1.ObjectIdentifier{1, 3, 132, 0, 35}
	oidSecp256k1     = asn1.ObjectIdentifier{1, 3, 132, 0, 10}
	oidEd25519       = asn1.ObjectIdentifier{1, 3, 101, 112}
	oidMLDSA44       = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 3, 17}
	oidMLDSA65       = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 3, 18}
	oidMLDSA87       = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 3, 19}
	oidMLKEM512      = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 4, 1}
	oidMLKEM768      = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 4, 2}
	oidMLKEM1024     = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 4, 3}
)

// Errors of the asymmetric functions. Callers map them to AWS errors; none
// of their messages, nor those wrapping them, carries key or plaintext bytes.
var (
	// ErrUnsupportedKeySpec: a spec this package does not know, or one the
	// function was not made for (an RSA function given an EC key).
	ErrUnsupportedKeySpec = errors.New("crypto: unsupported key spec")
	// ErrMalformedKey: DER that is not a well-formed SubjectPublicKeyInfo
	// or PKCS#8 PrivateKeyInfo of a supported algorithm, or key bytes of the
	// wrong length or out of range.
	ErrMalformedKey = errors.New("crypto: malformed key")
	// ErrWrongCurve: a peer public key of another curve or another
	// algorithm than the private key's (DeriveSharedSecret).
	ErrWrongCurve = errors.New("crypto: public key is not a key of the private key's curve")
	// ErrInvalidPoint: an EC public key whose point is not on its named
	// curve, is the point at infinity, or is not in uncompressed form.
	ErrInvalidPoint = errors.New("crypto: public key is not a valid curve point")
	// ErrPlaintextTooLong: more plaintext than RSA-OAEP with this key and
	// hash carries (AWS's limits, OAEPMaxPlaintext).
	ErrPlaintextTooLong = errors.New("crypto: plaintext too long for this key and algorithm")
	// ErrUnsupportedAlgorithm: an algorithm name this package does not know
	// for the operation.
	ErrUnsupportedAlgorithm = errors.New("crypto: unsupported algorithm")
	// ErrInvalidMessage: a message whose length the message type forbids
	// (EXTERNAL_MU must be 64 bytes).
	ErrInvalidMessage = errors.New("crypto: invalid message for the message type")
	// ErrExternalMuUnsupported: ML-DSA verifying a caller-supplied μ, which
	// crypto/mldsa does not expose (it signs one; DESIGN.md).
	ErrExternalMuUnsupported = errors.New("crypto: ML-DSA EXTERNAL_MU is not supported")
	// ErrInvalidSignature: a signature that does not verify.
	ErrInvalidSignature = errors.New("crypto: invalid signature")
)
