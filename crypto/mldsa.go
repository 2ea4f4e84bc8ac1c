package crypto

import (
	"fmt"

	"github.com/cloudflare/circl/sign"
	"github.com/cloudflare/circl/sign/mldsa/mldsa44"
	"github.com/cloudflare/circl/sign/mldsa/mldsa65"
	"github.com/cloudflare/circl/sign/mldsa/mldsa87"
	"github.com/keyraft/keyraft/internal/wipe"
)

// ML-DSA (FIPS 204) from cloudflare/circl. A private key is kept as its
// 32-byte seed ξ (the seed form of the PKCS#8 encoding in RFC 9881) and
// expanded for each signature. Signing is hedged (FIPS 204's default:
// fresh randomness mixed with the key), with the empty context string, as
// AWS signs RAW messages.

// MLDSASeedSize is the length of an ML-DSA private key seed.
const MLDSASeedSize = 32

// MessageType is AWS's Sign/Verify MessageType.
type MessageType string

// The message types AWS defines.
const (
	MessageRaw        MessageType = "RAW"
	MessageDigest     MessageType = "DIGEST"
	MessageExternalMu MessageType = "EXTERNAL_MU"
)

// MLDSAMuSize is the length of the μ an EXTERNAL_MU message carries.
const MLDSAMuSize = 64

// mldsaParams binds a spec to circl's parameter set.
type mldsaParams struct {
	scheme sign.Scheme
	// signHedged signs msg with an empty context and fresh randomness.
	signHedged func(sk sign.PrivateKey, msg, sig []byte) error
}

var mldsaSets = map[KeySpec]mldsaParams{
	SpecMLDSA44: {mldsa44.Scheme(), func(sk sign.PrivateKey, msg, sig []byte) error {
		return mldsa44.SignTo(sk.(*mldsa44.PrivateKey), msg, nil, true, sig)
	}},
	SpecMLDSA65: {mldsa65.Scheme(), func(sk sign.PrivateKey, msg, sig []byte) error {
		return mldsa65.SignTo(sk.(*mldsa65.PrivateKey), msg, nil, true, sig)
	}},
	SpecMLDSA87: {mldsa87.Scheme(), func(sk sign.PrivateKey, msg, sig []byte) error {
		return mldsa87.SignTo(sk.(*mldsa87.PrivateKey), msg, nil, true, sig)
	}},
}

func isMLDSA(spec KeySpec) bool {
	_, ok := mldsaSets[spec]
	return ok
}

// MLDSASignatureSize is the signature length of spec, 0 if spec is not ML-DSA.
func MLDSASignatureSize(spec KeySpec) int {
	p, ok := mldsaSets[spec]
	if !ok {
		return 0
	}
	return p.scheme.SignatureSize()
}

func mldsaPublicKey(spec KeySpec, raw []byte) (sign.PublicKey, error) {
	p, ok := mldsaSets[spec]
	if !ok {
		return nil, fmt.Errorf("%w: %s is not ML-DSA", ErrUnsupportedKeySpec, spec)
	}
	if len(raw) != p.scheme.PublicKeySize() {
		return nil, fmt.Errorf("%w: %s public key must be %d bytes", ErrMalformedKey, spec, p.scheme.PublicKeySize())
	}
	pk, err := p.scheme.UnmarshalBinaryPublicKey(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: %s public key", ErrMalformedKey, spec)
	}
	return pk, nil
}

// withMLDSAKey expands seed into spec's key pair for fn, then wipes the
// expanded private key.
func withMLDSAKey(spec KeySpec, seed []byte, fn func(p mldsaParams, pk sign.PublicKey, sk sign.PrivateKey) error) error {
	p, ok := mldsaSets[spec]
	if !ok {
		return fmt.Errorf("%w: %s is not ML-DSA", ErrUnsupportedKeySpec, spec)
	}
	if len(seed) != MLDSASeedSize {
		return fmt.Errorf("%w: ML-DSA seed must be %d bytes", ErrMalformedKey, MLDSASeedSize)
	}
	pk, sk := p.scheme.DeriveKey(seed)
	defer wipe.Deep(sk)
	return fn(p, pk, sk)
}

// MLDSAPublicKey returns the FIPS 204 encoding of the public key of seed.
func MLDSAPublicKey(spec KeySpec, seed []byte) ([]byte, error) {
	var out []byte
	err := withMLDSAKey(spec, seed, func(_ mldsaParams, pk sign.PublicKey, _ sign.PrivateKey) error {
		var err error
		out, err = pk.MarshalBinary()
		return err
	})
	return out, err
}

// checkMLDSAMessage applies AWS's rules for ML-DSA message types: RAW is
// signed as it is; EXTERNAL_MU must be 64 bytes and is then refused with
// ErrExternalMuUnsupported (DESIGN.md says why); DIGEST is not an ML-DSA
// message type.
func checkMLDSAMessage(mt MessageType, message []byte) error {
	switch mt {
	case MessageRaw, "":
		return nil
	case MessageExternalMu:
		if len(message) != MLDSAMuSize {
			return fmt.Errorf("%w: EXTERNAL_MU message must be %d bytes", ErrInvalidMessage, MLDSAMuSize)
		}
		return ErrExternalMuUnsupported
	}
	return fmt.Errorf("%w: ML-DSA does not take message type %q", ErrInvalidMessage, mt)
}

// MLDSASign signs message (MessageType RAW: the message itself, pure
// ML-DSA with an empty context) with the key of seed.
func MLDSASign(spec KeySpec, seed, message []byte, mt MessageType) ([]byte, error) {
	if err := checkMLDSAMessage(mt, message); err != nil {
		return nil, err
	}
	var sig []byte
	err := withMLDSAKey(spec, seed, func(p mldsaParams, _ sign.PublicKey, sk sign.PrivateKey) error {
		sig = make([]byte, p.scheme.SignatureSize())
		return p.signHedged(sk, message, sig)
	})
	if err != nil {
		return nil, err
	}
	return sig, nil
}

// MLDSAVerify checks signature over message under publicKey (the FIPS 204
// encoding, as MLDSAPublicKey returns); a signature that does not verify is
// ErrInvalidSignature.
func MLDSAVerify(spec KeySpec, publicKey, message, signature []byte, mt MessageType) error {
	if err := checkMLDSAMessage(mt, message); err != nil {
		return err
	}
	pk, err := mldsaPublicKey(spec, publicKey)
	if err != nil {
		return err
	}
	p := mldsaSets[spec]
	if len(signature) != p.scheme.SignatureSize() || !p.scheme.Verify(pk, message, signature, nil) {
		return ErrInvalidSignature
	}
	return nil
}
