package crypto

import (
	stdcrypto "crypto"
	"crypto/mldsa"
	"fmt"

	"github.com/keyraft/keyraft/internal/wipe"
)

// ML-DSA (FIPS 204) from Go's crypto/mldsa (Go 1.27). A private key is kept
// as its 32-byte seed ξ (the seed form of the PKCS#8 encoding in RFC 9881)
// and expanded for each signature. Signing is hedged (FIPS 204's default:
// fresh randomness mixed with the key), with the empty context string, as
// AWS signs RAW messages; EXTERNAL_MU signs the caller's μ (RFC 9881's
// externalmu) in its place.

// MLDSASeedSize is the length of an ML-DSA private key seed.
const MLDSASeedSize = mldsa.PrivateKeySize

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

var mldsaSets = map[KeySpec]mldsa.Parameters{
	SpecMLDSA44: mldsa.MLDSA44(),
	SpecMLDSA65: mldsa.MLDSA65(),
	SpecMLDSA87: mldsa.MLDSA87(),
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
	return p.SignatureSize()
}

func mldsaPublicKey(spec KeySpec, raw []byte) (*mldsa.PublicKey, error) {
	p, ok := mldsaSets[spec]
	if !ok {
		return nil, fmt.Errorf("%w: %s is not ML-DSA", ErrUnsupportedKeySpec, spec)
	}
	if len(raw) != p.PublicKeySize() {
		return nil, fmt.Errorf("%w: %s public key must be %d bytes", ErrMalformedKey, spec, p.PublicKeySize())
	}
	pk, err := mldsa.NewPublicKey(p, raw)
	if err != nil {
		return nil, fmt.Errorf("%w: %s public key", ErrMalformedKey, spec)
	}
	return pk, nil
}

// withMLDSAKey expands seed into spec's private key for fn, then wipes the
// expanded key.
func withMLDSAKey(spec KeySpec, seed []byte, fn func(sk *mldsa.PrivateKey) error) error {
	p, ok := mldsaSets[spec]
	if !ok {
		return fmt.Errorf("%w: %s is not ML-DSA", ErrUnsupportedKeySpec, spec)
	}
	if len(seed) != MLDSASeedSize {
		return fmt.Errorf("%w: ML-DSA seed must be %d bytes", ErrMalformedKey, MLDSASeedSize)
	}
	sk, err := mldsa.NewPrivateKey(p, seed)
	if err != nil {
		return fmt.Errorf("%w: %s seed", ErrMalformedKey, spec)
	}
	defer wipe.Deep(sk)
	return fn(sk)
}

// MLDSAPublicKey returns the FIPS 204 encoding of the public key of seed.
func MLDSAPublicKey(spec KeySpec, seed []byte) ([]byte, error) {
	var out []byte
	err := withMLDSAKey(spec, seed, func(sk *mldsa.PrivateKey) error {
		out = sk.PublicKey().Bytes()
		return nil
	})
	return out, err
}

// checkMLDSAMessage applies AWS's rules for ML-DSA message types: RAW is
// signed as it is; EXTERNAL_MU must be 64 bytes (μ itself); DIGEST is not
// an ML-DSA message type.
func checkMLDSAMessage(mt MessageType, message []byte) error {
	switch mt {
	case MessageRaw, "":
		return nil
	case MessageExternalMu:
		if len(message) != MLDSAMuSize {
			return fmt.Errorf("%w: EXTERNAL_MU message must be %d bytes", ErrInvalidMessage, MLDSAMuSize)
		}
		return nil
	}
	return fmt.Errorf("%w: ML-DSA does not take message type %q", ErrInvalidMessage, mt)
}

// MLDSASign signs message with the key of seed: for MessageType RAW the
// message itself (pure ML-DSA, empty context), for EXTERNAL_MU the 64-byte
// μ = SHAKE256(tr ‖ 0 ‖ len(ctx) ‖ ctx ‖ M) the caller computed, which gives
// the signature RAW would give over M (with that context).
func MLDSASign(spec KeySpec, seed, message []byte, mt MessageType) ([]byte, error) {
	if err := checkMLDSAMessage(mt, message); err != nil {
		return nil, err
	}
	// A nil SignerOpts is pure ML-DSA with the empty context; MLDSAMu
	// makes Sign take message as μ. crypto/mldsa draws the hedging
	// randomness from crypto/rand itself (it ignores the reader).
	var opts stdcrypto.SignerOpts
	if mt == MessageExternalMu {
		opts = stdcrypto.MLDSAMu
	}
	var sig []byte
	err := withMLDSAKey(spec, seed, func(sk *mldsa.PrivateKey) error {
		var err error
		sig, err = sk.Sign(nil, message, opts)
		return err
	})
	if err != nil {
		return nil, err
	}
	return sig, nil
}

// MLDSAVerify checks signature over a RAW message under publicKey (the
// FIPS 204 encoding, as MLDSAPublicKey returns); a signature that does not
// verify is ErrInvalidSignature. An EXTERNAL_MU message of the right length
// is ErrExternalMuUnsupported: crypto/mldsa verifies only a message, never
// a given μ (DESIGN.md).
func MLDSAVerify(spec KeySpec, publicKey, message, signature []byte, mt MessageType) error {
	if err := checkMLDSAMessage(mt, message); err != nil {
		return err
	}
	if mt == MessageExternalMu {
		return ErrExternalMuUnsupported
	}
	pk, err := mldsaPublicKey(spec, publicKey)
	if err != nil {
		return err
	}
	if len(signature) != mldsaSets[spec].SignatureSize() || mldsa.Verify(pk, message, signature, nil) != nil {
		return ErrInvalidSignature
	}
	return nil
}
