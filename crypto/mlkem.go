package crypto

import (
	"crypto/mlkem"
	"fmt"

	"github.com/cloudflare/circl/kem/mlkem/mlkem512"
	"github.com/keyraft/keyraft/internal/wipe"
)

// ML-KEM (FIPS 203). A private key is kept as its 64-byte seed d || z, the
// form AWS returns in GenerateDataKeyPair's PKCS#8 and the only form Go's
// crypto/mlkem loads: the expanded key is recomputed on each use (tens of
// microseconds) instead of being stored. ML-KEM-768 and -1024 come from
// crypto/mlkem; ML-KEM-512, which the standard library leaves out, from
// cloudflare/circl (kem/mlkem/mlkem512). TestMLKEMSeedAgreement checks that
// circl and the standard library derive the same keys from one seed.
const (
	// MLKEMSeedSize is the length of an ML-KEM private key seed.
	MLKEMSeedSize = mlkem.SeedSize
	// MLKEMSharedSecretSize is the length of every ML-KEM shared secret.
	MLKEMSharedSecretSize = mlkem.SharedKeySize
)

func isMLKEM(spec KeySpec) bool {
	return spec == SpecMLKEM512 || spec == SpecMLKEM768 || spec == SpecMLKEM1024
}

// MLKEMCiphertextSize is the ciphertext length of spec, 0 if spec is not ML-KEM.
func MLKEMCiphertextSize(spec KeySpec) int {
	switch spec {
	case SpecMLKEM512:
		return mlkem512.CiphertextSize
	case SpecMLKEM768:
		return mlkem.CiphertextSize768
	case SpecMLKEM1024:
		return mlkem.CiphertextSize1024
	}
	return 0
}

// mlkemEncapsulate is an encapsulation key made ready to encapsulate.
type mlkemEncapsulate func() (sharedKey, ciphertext []byte, err error)

// mlkemEncapsulationKey parses an encapsulation key of spec, with the
// modulus check of FIPS 203 7.2.
func mlkemEncapsulationKey(spec KeySpec, raw []byte) (mlkemEncapsulate, error) {
	var (
		enc mlkemEncapsulate
		err error
	)
	switch spec {
	case SpecMLKEM512:
		pk := new(mlkem512.PublicKey)
		if err = pk.Unpack(raw); err == nil {
			enc = func() ([]byte, []byte, error) {
				ct, ss, err := mlkem512.Scheme().Encapsulate(pk)
				return ss, ct, err
			}
		}
	case SpecMLKEM768:
		var ek *mlkem.EncapsulationKey768
		if ek, err = mlkem.NewEncapsulationKey768(raw); err == nil {
			enc = func() ([]byte, []byte, error) { ss, ct := ek.Encapsulate(); return ss, ct, nil }
		}
	case SpecMLKEM1024:
		var ek *mlkem.EncapsulationKey1024
		if ek, err = mlkem.NewEncapsulationKey1024(raw); err == nil {
			enc = func() ([]byte, []byte, error) { ss, ct := ek.Encapsulate(); return ss, ct, nil }
		}
	default:
		return nil, fmt.Errorf("%w: %s is not ML-KEM", ErrUnsupportedKeySpec, spec)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %s encapsulation key", ErrMalformedKey, spec)
	}
	return enc, nil
}

// withMLKEMKey expands seed into spec's decapsulation key, hands fn its
// encapsulation key bytes and a decapsulate function, then wipes the
// expanded key.
func withMLKEMKey(spec KeySpec, seed []byte, fn func(ek []byte, decap func(ct []byte) []byte)) error {
	if !isMLKEM(spec) {
		return fmt.Errorf("%w: %s is not ML-KEM", ErrUnsupportedKeySpec, spec)
	}
	if len(seed) != MLKEMSeedSize {
		return fmt.Errorf("%w: ML-KEM seed must be %d bytes", ErrMalformedKey, MLKEMSeedSize)
	}
	switch spec {
	case SpecMLKEM512:
		pk, sk := mlkem512.NewKeyFromSeed(seed)
		defer wipe.Deep(sk)
		ek := make([]byte, mlkem512.PublicKeySize)
		pk.Pack(ek)
		fn(ek, func(ct []byte) []byte {
			ss := make([]byte, mlkem512.SharedKeySize)
			sk.DecapsulateTo(ss, ct)
			return ss
		})
	case SpecMLKEM768:
		dk, err := mlkem.NewDecapsulationKey768(seed)
		if err != nil {
			return fmt.Errorf("%w: %s seed", ErrMalformedKey, spec)
		}
		defer wipe.Deep(dk)
		fn(dk.EncapsulationKey().Bytes(), func(ct []byte) []byte {
			ss, err := dk.Decapsulate(ct)
			if err != nil {
				return nil
			}
			return ss
		})
	case SpecMLKEM1024:
		dk, err := mlkem.NewDecapsulationKey1024(seed)
		if err != nil {
			return fmt.Errorf("%w: %s seed", ErrMalformedKey, spec)
		}
		defer wipe.Deep(dk)
		fn(dk.EncapsulationKey().Bytes(), func(ct []byte) []byte {
			ss, err := dk.Decapsulate(ct)
			if err != nil {
				return nil
			}
			return ss
		})
	}
	return nil
}

// MLKEMPublicKey returns the encapsulation key (FIPS 203 encoding) of the
// key with this seed; MarshalPublicKey wraps it in the SubjectPublicKeyInfo
// GetPublicKey returns.
func MLKEMPublicKey(spec KeySpec, seed []byte) ([]byte, error) {
	var out []byte
	err := withMLKEMKey(spec, seed, func(ek []byte, _ func([]byte) []byte) { out = ek })
	return out, err
}

// MLKEMEncapsulate makes a fresh 32-byte shared secret and its ciphertext
// under the encapsulation key ek (raw FIPS 203 bytes, as MLKEMPublicKey
// returns). Randomness is always crypto/rand's: neither implementation
// takes a reader.
func MLKEMEncapsulate(spec KeySpec, ek []byte) (sharedSecret, ciphertext []byte, err error) {
	enc, err := mlkemEncapsulationKey(spec, ek)
	if err != nil {
		return nil, nil, err
	}
	return enc()
}

// MLKEMDecapsulate recovers the shared secret of ciphertext with the key of
// seed. As FIPS 203 (and AWS's Decapsulate) specify, only a ciphertext of
// the wrong length is refused (ErrInvalidCiphertext); any other ciphertext,
// tampered with or made for another key, yields a pseudo-random secret
// (implicit rejection), so the caller learns nothing from the answer.
func MLKEMDecapsulate(spec KeySpec, seed, ciphertext []byte) ([]byte, error) {
	if n := MLKEMCiphertextSize(spec); n != 0 && len(ciphertext) != n {
		return nil, fmt.Errorf("%w: %s ciphertext must be %d bytes", ErrInvalidCiphertext, spec, n)
	}
	var ss []byte
	err := withMLKEMKey(spec, seed, func(_ []byte, decap func([]byte) []byte) { ss = decap(ciphertext) })
	if err == nil && ss == nil {
		err = fmt.Errorf("%w: %s decapsulation", ErrInvalidCiphertext, spec)
	}
	return ss, err
}
