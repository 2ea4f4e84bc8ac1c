package crypto

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"fmt"
	"io"

	"github.com/cloudflare/circl/kem"
	"github.com/cloudflare/circl/kem/mlkem/mlkem1024"
	"github.com/cloudflare/circl/kem/mlkem/mlkem512"
	"github.com/cloudflare/circl/kem/mlkem/mlkem768"
	"github.com/cloudflare/circl/sign"
	"github.com/cloudflare/circl/sign/mldsa/mldsa44"
	"github.com/cloudflare/circl/sign/mldsa/mldsa65"
	"github.com/cloudflare/circl/sign/mldsa/mldsa87"
	"github.com/decred/dcrd/dcrec/secp256k1/v4"
	"github.com/keyraft/keyraft/internal/wipe"
)

// GenerateKeyPair makes a new private key of spec, reading randomness from
// rand (nil: crypto/rand). Go 1.26 ignores rand for RSA, ECDSA and Ed25519
// key generation and always uses its own secure source; the ML-DSA and
// ML-KEM seeds and secp256k1 scalars are read from rand.
func GenerateKeyPair(spec KeySpec, rand io.Reader) (*PrivateKey, error) {
	rand = randOrDefault(rand)
	var (
		key any
		err error
	)
	switch spec {
	case SpecRSA2048, SpecRSA3072, SpecRSA4096:
		bits := map[KeySpec]int{SpecRSA2048: 2048, SpecRSA3072: 3072, SpecRSA4096: 4096}[spec]
		key, err = rsa.GenerateKey(rand, bits)
	case SpecECCNISTP256, SpecECCNISTP384, SpecECCNISTP521:
		key, err = ecdsa.GenerateKey(nistCurve(spec), rand)
	case SpecECCSECGP256K1:
		key, err = secp256k1.GeneratePrivateKeyFromRand(rand)
	case SpecEd25519:
		_, key, err = ed25519.GenerateKey(rand)
	case SpecMLDSA44, SpecMLDSA65, SpecMLDSA87:
		key, err = readSeed(rand, MLDSASeedSize)
	case SpecMLKEM512, SpecMLKEM768, SpecMLKEM1024:
		key, err = readSeed(rand, MLKEMSeedSize)
	default:
		return nil, fmt.Errorf("%w: %q", ErrUnsupportedKeySpec, spec)
	}
	if err != nil {
		return nil, fmt.Errorf("crypto: generating %s key: %w", spec, err)
	}
	return &PrivateKey{Spec: spec, Key: key}, nil
}

func readSeed(rand io.Reader, n int) ([]byte, error) {
	seed := make([]byte, n)
	if _, err := io.ReadFull(rand, seed); err != nil {
		return nil, err
	}
	return seed, nil
}

// GenerateDataKeyPair is GenerateDataKeyPair's cryptography: a new key
// pair of spec as DER PKCS#8 (a secret: the caller encrypts it, answers it
// and wipes it) and DER SubjectPublicKeyInfo. The parsed private key is
// wiped before it returns.
func GenerateDataKeyPair(spec KeySpec, rand io.Reader) (privateKey, publicKey []byte, err error) {
	k, err := GenerateKeyPair(spec, rand)
	if err != nil {
		return nil, nil, err
	}
	defer k.Wipe()
	if publicKey, err = k.PublicKeyDER(); err != nil {
		return nil, nil, err
	}
	if privateKey, err = MarshalPrivateKey(k); err != nil {
		return nil, nil, err
	}
	return privateKey, publicKey, nil
}

// Public returns k's public key.
func (k *PrivateKey) Public() (*PublicKey, error) {
	switch key := k.Key.(type) {
	case *rsa.PrivateKey:
		return &PublicKey{Spec: k.Spec, Key: &key.PublicKey}, nil
	case *ecdsa.PrivateKey:
		return &PublicKey{Spec: k.Spec, Key: &key.PublicKey}, nil
	case *secp256k1.PrivateKey:
		return &PublicKey{Spec: k.Spec, Key: key.PubKey()}, nil
	case ed25519.PrivateKey:
		return &PublicKey{Spec: k.Spec, Key: key.Public().(ed25519.PublicKey)}, nil
	case []byte:
		var (
			raw []byte
			err error
		)
		if isMLDSA(k.Spec) {
			raw, err = MLDSAPublicKey(k.Spec, key)
		} else {
			raw, err = MLKEMPublicKey(k.Spec, key)
		}
		if err != nil {
			return nil, err
		}
		return &PublicKey{Spec: k.Spec, Key: raw}, nil
	}
	return nil, fmt.Errorf("%w: private key of type %T", ErrUnsupportedKeySpec, k.Key)
}

// PublicKeyDER is k's public key as DER SubjectPublicKeyInfo, what
// GetPublicKey returns.
func (k *PrivateKey) PublicKeyDER() ([]byte, error) {
	pub, err := k.Public()
	if err != nil {
		return nil, err
	}
	return MarshalPublicKey(pub)
}

// Wipe zeroes the secret numbers of k, as far as Go lets them be reached:
// an RSA key's primes, exponents and precomputed values (big.Int and
// bigmod buffers wipe.Deep reaches), an ECDSA scalar's words, seeds and
// byte keys. Copies Go made while computing are out of reach (DESIGN.md).
// k must not be used afterwards. It reports whether all of k could be
// zeroed.
func (k *PrivateKey) Wipe() bool {
	switch key := k.Key.(type) {
	case *secp256k1.PrivateKey:
		key.Zero()
		return true
	case ed25519.PrivateKey:
		clear(key)
		return true
	case []byte:
		clear(key)
		return true
	case *ecdsa.PrivateKey:
		// Not wipe.Deep: it would follow Curve into the package-level
		// curve parameters every key shares. D's words are the secret;
		// Bits aliases them. D is deprecated for writing because a
		// changed key is invalid; this key is dead.
		//lint:ignore SA1019 zeroing the scalar of a key that is never used again
		if d := key.D; d != nil {
			clear(d.Bits())
		}
		return true
	case *rsa.PrivateKey:
		return wipe.Deep(key)
	case nil:
		return true
	}
	return false
}

// expandPQ returns the expanded private key (FIPS 204 / FIPS 203 encoding)
// of a seed, to check the "both" form of a PKCS#8 key against its seed.
// Both go through circl because crypto/mlkem and crypto/mldsa do not
// expose the expanded form.
func expandPQ(spec KeySpec, seed []byte) ([]byte, error) {
	if isMLDSA(spec) {
		return mldsaExpanded(spec, seed)
	}
	var s kem.Scheme
	switch spec {
	case SpecMLKEM512:
		s = mlkem512.Scheme()
	case SpecMLKEM768:
		s = mlkem768.Scheme()
	case SpecMLKEM1024:
		s = mlkem1024.Scheme()
	default:
		return nil, fmt.Errorf("%w: %s", ErrUnsupportedKeySpec, spec)
	}
	if len(seed) != s.SeedSize() {
		return nil, fmt.Errorf("%w: %s seed", ErrMalformedKey, spec)
	}
	_, sk := s.DeriveKeyPair(seed)
	defer wipe.Deep(sk)
	return sk.MarshalBinary()
}

// mldsaExpanded is circl's FIPS 204 encoding of the expanded private key of
// seed; the expanded key is wiped once encoded.
func mldsaExpanded(spec KeySpec, seed []byte) ([]byte, error) {
	var s sign.Scheme
	switch spec {
	case SpecMLDSA44:
		s = mldsa44.Scheme()
	case SpecMLDSA65:
		s = mldsa65.Scheme()
	case SpecMLDSA87:
		s = mldsa87.Scheme()
	default:
		return nil, fmt.Errorf("%w: %s is not ML-DSA", ErrUnsupportedKeySpec, spec)
	}
	if len(seed) != s.SeedSize() {
		return nil, fmt.Errorf("%w: ML-DSA seed must be %d bytes", ErrMalformedKey, s.SeedSize())
	}
	_, sk := s.DeriveKey(seed)
	defer wipe.Deep(sk)
	return sk.MarshalBinary()
}
