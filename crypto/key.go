package crypto

import (
	cryptorand "crypto/rand"
	"fmt"
	"io"
)

// KeySize is the length in bytes of every symmetric key: AES-256.
const KeySize = 32

// NewKey returns KeySize bytes read from rand. A nil rand means crypto/rand.Reader.
func NewKey(rand io.Reader) ([]byte, error) {
	key := make([]byte, KeySize)
	if _, err := io.ReadFull(randOrDefault(rand), key); err != nil {
		return nil, fmt.Errorf("crypto: reading random key: %w", err)
	}
	return key, nil
}

// randOrDefault lets callers pass nil to mean the system's secure source.
func randOrDefault(rand io.Reader) io.Reader {
	if rand == nil {
		return cryptorand.Reader
	}
	return rand
}
