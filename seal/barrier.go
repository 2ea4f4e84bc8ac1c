package seal

import (
	"bytes"
	cryptorand "crypto/rand"
	"crypto/subtle"
	"errors"
	"fmt"
	"sync"
)

// Barrier is a node's in-memory seal state: sealed or unsealed, the open
// keyring when unsealed, and the shares gathered towards unsealing. One per
// node; nothing in it is persisted or replicated. Safe for concurrent use.
type Barrier struct {
	mu sync.Mutex // guards every field below, for all callers

	keyring   *Keyring    // non-nil exactly when unsealed
	shares    [][]byte    // unseal progress: distinct shares given so far (copies)
	threshold int         // the threshold the current progress was gathered for
	nonce     string      // identifies the current unseal attempt; "" when no progress
	subs      []chan bool // Subscribe channels, each with capacity 1
}

// Status is a snapshot of a barrier's seal state. Progress counts the distinct
// shares given towards Threshold; Nonce identifies the current attempt (it
// changes whenever progress is reset) and is empty when there is no progress.
type Status struct {
	Sealed    bool
	Progress  int
	Threshold int
	Nonce     string
}

// NewBarrier returns a sealed barrier with no progress.
func NewBarrier() *Barrier {
	return &Barrier{}
}

// Unseal adds one share towards unsealing. sealedKeyring and threshold come
// from the replicated init record; an empty sealedKeyring means the cluster is
// not initialized (ErrNotInitialized).
//
//   - On an unsealed barrier it returns the status and no error.
//   - A share of the wrong length is rejected with ErrInvalidShare and progress
//     is kept.
//   - A share equal (in constant time) to one already given is ignored.
//   - When threshold distinct shares are present they are combined and the
//     keyring opened. If that fails, progress is reset and ErrWrongShares is
//     returned. On success the barrier is unsealed, subscribers are told, and
//     the shares and root key are zeroed and dropped; only the keyring is kept.
//
// If threshold differs from the one the current progress was gathered for (the
// init record changed), progress is reset before the share is added.
func (b *Barrier) Unseal(share []byte, sealedKeyring []byte, threshold int) (Status, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.keyring != nil {
		return b.statusLocked(threshold), nil
	}
	if len(sealedKeyring) == 0 {
		return b.statusLocked(threshold), ErrNotInitialized
	}
	if threshold < 1 || threshold > maxShares {
		return b.statusLocked(threshold), fmt.Errorf("%w: threshold %d", ErrBadParameters, threshold)
	}
	if len(b.shares) > 0 && b.threshold != threshold {
		b.resetLocked()
	}
	if want := wantShareLen(threshold); len(share) != want {
		return b.statusLocked(threshold), fmt.Errorf("%w: share is %d bytes, want %d", ErrInvalidShare, len(share), want)
	}
	for _, s := range b.shares {
		if subtle.ConstantTimeCompare(s, share) == 1 {
			return b.statusLocked(threshold), nil
		}
	}
	if len(b.shares) == 0 {
		b.nonce = cryptorand.Text()
		b.threshold = threshold
	}
	b.shares = append(b.shares, bytes.Clone(share))
	if len(b.shares) < threshold {
		return b.statusLocked(threshold), nil
	}

	rootKey, err := Combine(b.shares)
	b.resetLocked()
	if err != nil {
		return b.statusLocked(threshold), ErrWrongShares
	}
	kr, err := OpenKeyring(rootKey, sealedKeyring)
	clear(rootKey)
	switch {
	case errors.Is(err, ErrWrongRootKey):
		return b.statusLocked(threshold), ErrWrongShares
	case err != nil:
		return b.statusLocked(threshold), fmt.Errorf("unseal failed, progress was reset: %w", err)
	}
	b.keyring = kr
	b.notifyLocked(false)
	return b.statusLocked(threshold), nil
}

// ResetProgress discards the shares given so far and returns the new status.
func (b *Barrier) ResetProgress() Status {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.resetLocked()
	return b.statusLocked(b.threshold)
}

// Seal zeroes and drops the keyring and any unseal progress. Keyrings handed
// out by Keyring are zeroed too and refuse further use (ErrSealed). Sealing a
// sealed barrier only resets progress.
func (b *Barrier) Seal() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.resetLocked()
	if b.keyring == nil {
		return
	}
	b.keyring.Zero()
	b.keyring = nil
	b.notifyLocked(true)
}

// Status reports the seal state; threshold (from the init record) is echoed
// in Status.Threshold.
func (b *Barrier) Status(threshold int) Status {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.statusLocked(threshold)
}

// Keyring returns the open keyring, or ErrSealed.
func (b *Barrier) Keyring() (*Keyring, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.keyring == nil {
		return nil, ErrSealed
	}
	return b.keyring, nil
}

// Subscribe returns a channel that carries the barrier's sealed state (true =
// sealed): the current state at once, then the new state after every
// seal/unseal transition. The channel has capacity 1 and is never blocked on
// or closed: a slow reader sees only the latest state, which is what a reader
// reacting to a seal (e.g. by transferring leadership) needs.
func (b *Barrier) Subscribe() <-chan bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	ch := make(chan bool, 1)
	ch <- b.keyring == nil
	b.subs = append(b.subs, ch)
	return ch
}

// notifyLocked replaces any unread state in each subscriber's channel with
// sealed. Only notifyLocked sends, always under b.mu, so after the drain the
// send cannot block.
func (b *Barrier) notifyLocked(sealed bool) {
	for _, ch := range b.subs {
		select {
		case <-ch:
		default:
		}
		ch <- sealed
	}
}

// resetLocked zeroes and drops the gathered shares.
func (b *Barrier) resetLocked() {
	for _, s := range b.shares {
		clear(s)
	}
	b.shares = nil
	b.nonce = ""
}

func (b *Barrier) statusLocked(threshold int) Status {
	return Status{
		Sealed:    b.keyring == nil,
		Progress:  len(b.shares),
		Threshold: threshold,
		Nonce:     b.nonce,
	}
}

// Upgrade adds to the open keyring the terms of the init record's upgrade
// records (Keyring.Upgrade) that it lacks. A sealed barrier has nothing to
// upgrade: its next unseal opens the record as it is then.
func (b *Barrier) Upgrade(records [][]byte) error {
	b.mu.Lock()
	kr := b.keyring
	b.mu.Unlock()
	if kr == nil {
		return nil
	}
	return kr.Upgrade(records)
}
