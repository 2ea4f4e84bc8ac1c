package crypto

import (
	"crypto/ecdsa"
	"errors"
	"fmt"
)

// KeyAgreementECDH is AWS's one KeyAgreementAlgorithmSpec.
const KeyAgreementECDH = "ECDH"

// DeriveSharedSecret is DeriveSharedSecret's cryptography: ECDH (SP 800-56A
// section 5.7.1.2, the x-coordinate of d·Q, as AWS returns it) between the
// KMS key priv (ECC_NIST_P256/P384/P521) and a peer public key given as DER
// SubjectPublicKeyInfo. The peer key is refused, before any arithmetic
// with priv, with:
//   - ErrMalformedKey: not DER SPKI, trailing bytes, explicit curve parameters;
//   - ErrWrongCurve: a key of another curve or algorithm;
//   - ErrInvalidPoint: off the curve, the point at infinity, or compressed.
//
// The secret is the caller's to wipe.
func DeriveSharedSecret(priv *ecdsa.PrivateKey, peerPublicKey []byte) ([]byte, error) {
	spec := ""
	for _, s := range []KeySpec{SpecECCNISTP256, SpecECCNISTP384, SpecECCNISTP521} {
		if priv != nil && priv.Curve == nistCurve(s) {
			spec = string(s)
		}
	}
	if spec == "" {
		return nil, fmt.Errorf("%w: key agreement needs an ECC_NIST key", ErrUnsupportedKeySpec)
	}
	peer, err := ParsePublicKey(peerPublicKey)
	if errors.Is(err, ErrUnsupportedKeySpec) {
		return nil, fmt.Errorf("%w: peer key is not on %s", ErrWrongCurve, spec)
	}
	if err != nil {
		return nil, err
	}
	if string(peer.Spec) != spec {
		return nil, fmt.Errorf("%w: peer key is %s, not %s", ErrWrongCurve, peer.Spec, spec)
	}
	pub, err := peer.Key.(*ecdsa.PublicKey).ECDH()
	if err != nil {
		return nil, fmt.Errorf("%w: %s point", ErrInvalidPoint, spec)
	}
	d, err := priv.ECDH()
	if err != nil {
		return nil, fmt.Errorf("%w: private key", ErrMalformedKey)
	}
	// d holds the scalar again, and cannot be zeroed: wipe.Deep refuses it
	// because it reaches the curve every key shares (an interface to a
	// package-level value). DESIGN.md, Wiping, lists it.
	secret, err := d.ECDH(pub)
	if err != nil {
		// NIST curves of prime order have no small subgroup: a valid point
		// never gives infinity. Kept for the contract, not reachable.
		return nil, fmt.Errorf("%w: %s shared point", ErrInvalidPoint, spec)
	}
	return secret, nil
}
