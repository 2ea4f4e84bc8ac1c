package crypto

import (
	"crypto/aes"
	"crypto/cipher"
	"fmt"
	"io"

	"github.com/keyraft/keyraft/internal/wipe"
)

const (
	nonceSize = 12 // the standard AES-GCM nonce
	tagSize   = 16 // the standard AES-GCM tag
)

// newGCM returns AES-256-GCM for key, which must be KeySize bytes, and a
// function that zeroes it. Callers defer the zeroing: the AES key schedule
// begins with the key itself, and Go frees without clearing, so an instance
// merely dropped would leave a copy of the key in memory after a seal. No
// instance is cached for the same reason (and a new one costs about as
// much as one AES block). The wipe is checked by TestAEADWiped; were it to
// fail on a future Go, keys would linger only until their memory is reused.
func newGCM(key []byte) (cipher.AEAD, func(), error) {
	if len(key) != KeySize {
		return nil, nil, errKeySize
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, nil, fmt.Errorf("crypto: %w", err)
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		wipe.Pointee(block)
		return nil, nil, err
	}
	return gcm, func() { wipe.Pointee(gcm); wipe.Pointee(block) }, nil
}

// SealAEAD encrypts and authenticates plaintext and aad under key with
// AES-256-GCM and a fresh random nonce read from rand (nil means
// crypto/rand.Reader). The result is nonce(12) || ciphertext || tag(16).
//
// Random nonces bound the safe use of one key to about 2^32 messages; the
// barrier keyring's term lets callers rotate well before that.
func SealAEAD(key, plaintext, aad []byte, rand io.Reader) ([]byte, error) {
	return appendSealAEAD(make([]byte, 0, nonceSize+len(plaintext)+tagSize), key, plaintext, aad, rand)
}

// appendSealAEAD appends SealAEAD's output to dst, in place when dst has
// the room (a blob is built in one allocation: header, nonce, ciphertext).
// aad may alias dst's existing bytes, which are not written.
func appendSealAEAD(dst, key, plaintext, aad []byte, rand io.Reader) ([]byte, error) {
	gcm, done, err := newGCM(key)
	if err != nil {
		return nil, err
	}
	defer done()
	start := len(dst)
	dst = append(dst, make([]byte, nonceSize)...)
	nonce := dst[start:]
	if _, err := io.ReadFull(randOrDefault(rand), nonce); err != nil {
		return nil, fmt.Errorf("crypto: reading random nonce: %w", err)
	}
	return gcm.Seal(dst, nonce, plaintext, aad), nil
}

// OpenAEAD reverses SealAEAD. Every failure (a key of the wrong size, a short
// input, a failed authentication) returns an error that is or wraps
// ErrInvalidCiphertext.
func OpenAEAD(key, sealed, aad []byte) ([]byte, error) {
	gcm, done, err := newGCM(key)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidCiphertext, err)
	}
	defer done()
	if len(sealed) < nonceSize+tagSize {
		return nil, fmt.Errorf("%w: %d bytes is too short", ErrInvalidCiphertext, len(sealed))
	}
	plaintext, err := gcm.Open(nil, sealed[:nonceSize], sealed[nonceSize:], aad)
	if err != nil {
		return nil, ErrInvalidCiphertext
	}
	return plaintext, nil
}
