package crypto

import (
	stdcrypto "crypto"
	"crypto/hmac"
	"errors"
	"fmt"
	"io"
)

// ErrInvalidMac is every failed MAC verification.
var ErrInvalidMac = errors.New("crypto: invalid MAC")

// NewMacKey returns size random bytes: an HMAC key's whole material.
func NewMacKey(size int, rand io.Reader) ([]byte, error) {
	key := make([]byte, size)
	if _, err := io.ReadFull(randOrDefault(rand), key); err != nil {
		return nil, fmt.Errorf("crypto: reading a random MAC key: %w", err)
	}
	return key, nil
}

// Mac is HMAC (RFC 2104) of msg under key with hash h.
func Mac(h stdcrypto.Hash, key, msg []byte) []byte {
	m := hmac.New(h.New, key)
	m.Write(msg)
	return m.Sum(nil)
}

// VerifyMac compares mac with HMAC of msg in constant time; a MAC of the
// wrong length fails the same way.
func VerifyMac(h stdcrypto.Hash, key, msg, mac []byte) error {
	if !hmac.Equal(Mac(h, key, msg), mac) {
		return ErrInvalidMac
	}
	return nil
}
