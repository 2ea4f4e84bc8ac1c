package crypto

import (
	"crypto/aes"
	"crypto/cipher"
	"fmt"
	"io"
)

const (
	nonceSize = 12 // the standard AES-GCM nonce
	tagSize   = 16 // the standard AES-GCM tag
)

// newGCM returns AES-256-GCM for key, which must be KeySize bytes.
func newGCM(key []byte) (cipher.AEAD, error) {
	if len(key) != KeySize {
		return nil, errKeySize
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("crypto: %w", err)
	}
	return cipher.NewGCM(block)
}

// SealAEAD encrypts and authenticates plaintext and aad under key with
// AES-256-GCM and a fresh random nonce read from rand (nil means
// crypto/rand.Reader). The result is nonce(12) || ciphertext || tag(16).
//
// Random nonces bound the safe use of one key to about 2^32 messages; the
// barrier keyring's term lets callers rotate well before that.
func SealAEAD(key, plaintext, aad []byte, rand io.Reader) ([]byte, error) {
	gcm, err := newGCM(key)
	if err != nil {
		return nil, err
	}
	out := make([]byte, nonceSize, nonceSize+len(plaintext)+tagSize)
	if _, err := io.ReadFull(randOrDefault(rand), out); err != nil {
		return nil, fmt.Errorf("crypto: reading random nonce: %w", err)
	}
	return gcm.Seal(out, out[:nonceSize], plaintext, aad), nil
}

// OpenAEAD reverses SealAEAD. Every failure (a key of the wrong size, a short
// input, a failed authentication) returns an error that is or wraps
// ErrInvalidCiphertext.
func OpenAEAD(key, sealed, aad []byte) ([]byte, error) {
	gcm, err := newGCM(key)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidCiphertext, err)
	}
	if len(sealed) < nonceSize+tagSize {
		return nil, fmt.Errorf("%w: %d bytes is too short", ErrInvalidCiphertext, len(sealed))
	}
	plaintext, err := gcm.Open(nil, sealed[:nonceSize], sealed[nonceSize:], aad)
	if err != nil {
		return nil, ErrInvalidCiphertext
	}
	return plaintext, nil
}
