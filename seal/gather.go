package seal

import (
	"bytes"
	"crypto/subtle"
	"fmt"
	"sync"
)

// Gather collects shares towards one ceremony other than unseal (a rekey's
// current shares, or the new shares that verify it) until its threshold is
// met. It lives in the leader's memory only; every share it holds is a
// copy that it zeroes when it combines them, resets, or moves to another
// ceremony. Safe for concurrent use.
type Gather struct {
	mu     sync.Mutex
	nonce  string   // the ceremony the shares belong to
	shares [][]byte // distinct shares given so far
}

// Progress is how many shares have been given towards nonce (0 for any
// other ceremony).
func (g *Gather) Progress(nonce string) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	if nonce == "" || nonce != g.nonce {
		return 0
	}
	return len(g.shares)
}

// Add gives one share towards the ceremony nonce, which needs threshold
// shares. Shares gathered for another nonce are dropped first. A share of
// the wrong length is ErrInvalidShare (progress kept); a repeated share is
// ignored. When threshold distinct shares are present they are combined
// and dropped, and the rebuilt root key returned: the caller checks it
// (Combine cannot tell a wrong share) and zeroes it. Until then root is nil.
func (g *Gather) Add(nonce string, threshold int, share []byte) (progress int, root []byte, err error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if nonce == "" || threshold < 1 || threshold > maxShares {
		return 0, nil, fmt.Errorf("%w: threshold %d", ErrBadParameters, threshold)
	}
	if g.nonce != nonce {
		g.resetLocked()
		g.nonce = nonce
	}
	if want := wantShareLen(threshold); len(share) != want {
		return len(g.shares), nil, fmt.Errorf("%w: share is %d bytes, want %d", ErrInvalidShare, len(share), want)
	}
	for _, s := range g.shares {
		if subtle.ConstantTimeCompare(s, share) == 1 {
			return len(g.shares), nil, nil
		}
	}
	g.shares = append(g.shares, bytes.Clone(share))
	if len(g.shares) < threshold {
		return len(g.shares), nil, nil
	}
	root, err = Combine(g.shares)
	g.resetLocked()
	if err != nil {
		return 0, nil, ErrWrongShares
	}
	return threshold, root, nil
}

// Reset zeroes and drops every share gathered.
func (g *Gather) Reset() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.resetLocked()
}

func (g *Gather) resetLocked() {
	for _, s := range g.shares {
		clear(s)
	}
	g.shares = nil
	g.nonce = ""
}
