package crypto

import (
	"crypto"
	"crypto/rsa"
	"fmt"
	"io"

	// Registers SHA-1 and SHA-256 for crypto.Hash.New.
	_ "crypto/sha1"
	_ "crypto/sha256"
)

// EncryptionAlgorithm is AWS's EncryptionAlgorithmSpec for RSA keys.
type EncryptionAlgorithm string

// The RSA encryption algorithms AWS offers: OAEP with MGF1 over the same
// hash, empty label (RFC 8017 7.1). SHA-1 is safe in OAEP, which needs no
// collision resistance; AWS keeps it for compatibility and so do we.
const (
	RSAESOAEPSHA1   EncryptionAlgorithm = "RSAES_OAEP_SHA_1"
	RSAESOAEPSHA256 EncryptionAlgorithm = "RSAES_OAEP_SHA_256"
)

func oaepHash(alg EncryptionAlgorithm) (crypto.Hash, error) {
	switch alg {
	case RSAESOAEPSHA1:
		return crypto.SHA1, nil
	case RSAESOAEPSHA256:
		return crypto.SHA256, nil
	}
	return 0, fmt.Errorf("%w: %q is not an RSA encryption algorithm", ErrUnsupportedAlgorithm, alg)
}

// OAEPMaxPlaintext is the longest plaintext RSA-OAEP carries with a key of
// spec and alg: k - 2·hLen - 2 bytes (RFC 8017 7.1.1), which gives AWS's
// published limits: 214/190 bytes (SHA-1/SHA-256) for RSA_2048, 342/318
// for RSA_3072, 470/446 for RSA_4096.
func OAEPMaxPlaintext(spec KeySpec, alg EncryptionAlgorithm) (int, error) {
	h, err := oaepHash(alg)
	if err != nil {
		return 0, err
	}
	var k int
	switch spec {
	case SpecRSA2048:
		k = 256
	case SpecRSA3072:
		k = 384
	case SpecRSA4096:
		k = 512
	default:
		return 0, fmt.Errorf("%w: %s is not an RSA key spec", ErrUnsupportedKeySpec, spec)
	}
	return k - 2*h.Size() - 2, nil
}

// RSAEncryptOAEP encrypts plaintext to the raw OAEP ciphertext (the
// modulus' length, no header), the form AWS returns and that
// `openssl pkeyutl -decrypt -pkeyopt rsa_padding_mode:oaep` reads. A
// plaintext over OAEPMaxPlaintext is ErrPlaintextTooLong.
func RSAEncryptOAEP(pub *rsa.PublicKey, alg EncryptionAlgorithm, plaintext []byte, rand io.Reader) ([]byte, error) {
	h, max, err := oaepFor(&PublicKey{Key: pub}, alg)
	if err != nil {
		return nil, err
	}
	if len(plaintext) > max {
		return nil, fmt.Errorf("%w: %d bytes, at most %d", ErrPlaintextTooLong, len(plaintext), max)
	}
	ct, err := rsa.EncryptOAEP(h.New(), randOrDefault(rand), pub, plaintext, nil)
	if err != nil {
		return nil, fmt.Errorf("crypto: RSA-OAEP encrypt: %w", err)
	}
	return ct, nil
}

// RSADecryptOAEP decrypts a raw OAEP ciphertext. Every failure, including
// a ciphertext of the wrong length, is ErrInvalidCiphertext with no detail:
// telling padding failures apart is Manger's oracle.
func RSADecryptOAEP(priv *rsa.PrivateKey, alg EncryptionAlgorithm, ciphertext []byte) ([]byte, error) {
	h, _, err := oaepFor(&PublicKey{Key: &priv.PublicKey}, alg)
	if err != nil {
		return nil, err
	}
	pt, err := rsa.DecryptOAEP(h.New(), nil, priv, ciphertext, nil)
	if err != nil {
		return nil, ErrInvalidCiphertext
	}
	return pt, nil
}

// oaepFor checks that pub is an RSA key of a size AWS offers and alg an
// OAEP algorithm, and returns the hash and the plaintext limit.
func oaepFor(pub *PublicKey, alg EncryptionAlgorithm) (crypto.Hash, int, error) {
	h, err := oaepHash(alg)
	if err != nil {
		return 0, 0, err
	}
	k, ok := pub.Key.(*rsa.PublicKey)
	if !ok || k == nil || k.N == nil {
		return 0, 0, fmt.Errorf("%w: not an RSA key", ErrUnsupportedKeySpec)
	}
	spec, err := rsaSpec(k.N.BitLen())
	if err != nil {
		return 0, 0, err
	}
	max, err := OAEPMaxPlaintext(spec, alg)
	return h, max, err
}
