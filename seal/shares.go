package seal

import (
	"bytes"
	"fmt"
	"io"

	"github.com/hashicorp/vault/shamir"
	"github.com/keyraft/keyraft/crypto"
)

// maxShares is the most shares GF(2^8) Shamir can produce (x in 1..255).
const maxShares = 255

// GenerateRootKey returns a fresh 256-bit root key read from rand (nil means
// crypto/rand.Reader).
func GenerateRootKey(rand io.Reader) ([]byte, error) {
	return crypto.NewKey(rand)
}

// Split splits a 32-byte root key into shares, any threshold of which rebuild
// it. It requires 1 <= threshold <= shares <= 255, and threshold >= 2 whenever
// shares >= 2. With shares == threshold == 1 the single share is a copy of the
// root key (as in Vault, since Shamir needs at least two parts); otherwise each
// share is 33 bytes: 32 y-values followed by its x coordinate.
func Split(rootKey []byte, shares, threshold int) ([][]byte, error) {
	switch {
	case len(rootKey) != crypto.KeySize:
		return nil, fmt.Errorf("%w: root key must be %d bytes", ErrBadParameters, crypto.KeySize)
	case threshold < 1 || shares < threshold || shares > maxShares:
		return nil, fmt.Errorf("%w: need 1 <= threshold (%d) <= shares (%d) <= %d", ErrBadParameters, threshold, shares, maxShares)
	case shares >= 2 && threshold < 2:
		return nil, fmt.Errorf("%w: threshold must be at least 2 when there are %d shares", ErrBadParameters, shares)
	case shares == 1:
		return [][]byte{bytes.Clone(rootKey)}, nil
	}
	out, err := shamir.Split(rootKey, shares, threshold)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadParameters, err)
	}
	return out, nil
}

// Combine rebuilds a root key from shares. One share must be the 32-byte root
// key itself (threshold 1); two or more must each be 33 bytes with distinct x
// coordinates. Combine cannot tell a wrong share from a right one: a wrong set
// yields a wrong key, which OpenKeyring then rejects.
func Combine(shares [][]byte) ([]byte, error) {
	switch {
	case len(shares) == 0:
		return nil, fmt.Errorf("%w: no shares", ErrInvalidShare)
	case len(shares) > maxShares:
		return nil, fmt.Errorf("%w: more than %d shares", ErrInvalidShare, maxShares)
	case len(shares) == 1:
		if len(shares[0]) != crypto.KeySize {
			return nil, fmt.Errorf("%w: a single share must be %d bytes, got %d", ErrInvalidShare, crypto.KeySize, len(shares[0]))
		}
		return bytes.Clone(shares[0]), nil
	}
	for i, s := range shares {
		if len(s) != shareSize {
			return nil, fmt.Errorf("%w: share %d is %d bytes, want %d", ErrInvalidShare, i+1, len(s), shareSize)
		}
	}
	key, err := shamir.Combine(shares)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidShare, err)
	}
	return key, nil
}

// shareSize is the length of a Shamir share of a root key: y-values plus x.
const shareSize = crypto.KeySize + 1

// wantShareLen is the share length for a given threshold.
func wantShareLen(threshold int) int {
	if threshold == 1 {
		return crypto.KeySize
	}
	return shareSize
}
