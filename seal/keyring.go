package seal

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"slices"
	"sync"

	"github.com/keyraft/keyraft/crypto"
)

const (
	// keyringAAD binds a sealed keyring to its purpose.
	keyringAAD = "keyraft/keyring"
	// keyringFormat1 is the first byte of a keyring's plaintext encoding.
	keyringFormat1 = 0x01
	// keyringPlainSize is format(1) || term(4) || key(32).
	keyringPlainSize = 1 + 4 + crypto.KeySize
	// keyringFormat2 is the first byte of a keyring of several terms:
	// format(1) || count(4) || count × (term(4) || key(32)), ascending.
	keyringFormat2 = 0x02
	// keyringEntrySize is one term of format 2.
	keyringEntrySize = 4 + crypto.KeySize
	// maxTerms bounds the terms a keyring may hold: one rotation a day for
	// a century is 36,525.
	maxTerms = 1 << 16
	// upgradeAADPrefix binds an upgrade record to its purpose.
	upgradeAADPrefix = "keyraft/keyring-upgrade"
	// valueFormat1 is the version byte of a value sealed by Keyring.Seal.
	valueFormat1 = 0x01
	// valueHeaderSize is term(4) || version(1).
	valueHeaderSize = 5
)

// Keyring holds the barrier keys that encrypt key material at rest, one per
// term. New values are sealed under the newest term (term, key); older terms
// (old) stay so that values sealed under them still open until the
// background re-seal has moved them (operator rotate). A Keyring is safe for
// concurrent use; after Zero it refuses to seal or open anything.
type Keyring struct {
	mu   sync.RWMutex      // guards every field: Zero and Upgrade must not race Seal/Open
	term uint32            // the newest term, under which Seal seals
	key  []byte            // the newest term's key; nil after Zero
	old  map[uint32][]byte // the older terms' keys; nil when there are none
}

// NewKeyring returns a keyring with term 1 and a fresh random key read from
// rand (nil means crypto/rand.Reader).
func NewKeyring(rand io.Reader) (*Keyring, error) {
	key, err := crypto.NewKey(rand)
	if err != nil {
		return nil, err
	}
	return &Keyring{term: 1, key: key}, nil
}

// Term is the newest term, the one Seal seals under; 0 after Zero.
func (k *Keyring) Term() uint32 {
	k.mu.RLock()
	defer k.mu.RUnlock()
	if k.key == nil {
		return 0
	}
	return k.term
}

// SealKeyring encrypts every term of kr under the root key with AAD
// "keyraft/keyring". The result goes into the replicated init record. A
// keyring of one term is written in format 1 (as before rotation existed);
// more terms in format 2 (DESIGN.md).
func SealKeyring(rootKey []byte, kr *Keyring, rand io.Reader) ([]byte, error) {
	kr.mu.RLock()
	defer kr.mu.RUnlock()
	if kr.key == nil {
		return nil, ErrSealed
	}
	plain := encodeKeyringLocked(kr)
	defer clear(plain)
	return crypto.SealAEAD(rootKey, plain, []byte(keyringAAD), rand)
}

// encodeKeyringLocked is the plaintext of a sealed keyring.
func encodeKeyringLocked(kr *Keyring) []byte {
	if len(kr.old) == 0 {
		plain := make([]byte, 0, keyringPlainSize)
		plain = append(plain, keyringFormat1)
		plain = binary.BigEndian.AppendUint32(plain, kr.term)
		return append(plain, kr.key...)
	}
	terms := make([]uint32, 0, len(kr.old))
	for t := range kr.old {
		terms = append(terms, t)
	}
	slices.Sort(terms)
	plain := make([]byte, 0, 5+(len(terms)+1)*keyringEntrySize)
	plain = append(plain, keyringFormat2)
	plain = binary.BigEndian.AppendUint32(plain, uint32(len(terms)+1))
	for _, t := range terms {
		plain = binary.BigEndian.AppendUint32(plain, t)
		plain = append(plain, kr.old[t]...)
	}
	plain = binary.BigEndian.AppendUint32(plain, kr.term)
	return append(plain, kr.key...)
}

// OpenKeyring decrypts a keyring sealed by SealKeyring. A root key that does
// not authenticate it (the usual result of wrong shares) gives ErrWrongRootKey.
func OpenKeyring(rootKey, sealed []byte) (*Keyring, error) {
	plain, err := crypto.OpenAEAD(rootKey, sealed, []byte(keyringAAD))
	if err != nil {
		return nil, ErrWrongRootKey
	}
	defer clear(plain)
	return decodeKeyring(plain)
}

// decodeKeyring parses a keyring's plaintext (format 1 or 2). Format 2 lists
// at least two terms in strictly ascending order, none of them 0; the last
// is the newest.
func decodeKeyring(plain []byte) (*Keyring, error) {
	switch {
	case len(plain) == keyringPlainSize && plain[0] == keyringFormat1:
		term := binary.BigEndian.Uint32(plain[1:5])
		if term == 0 {
			return nil, fmt.Errorf("%w: term 0", ErrInvalidKeyring)
		}
		return &Keyring{term: term, key: bytes.Clone(plain[5:])}, nil
	case len(plain) >= 5 && plain[0] == keyringFormat2:
		n := binary.BigEndian.Uint32(plain[1:5])
		if n < 2 || n > maxTerms || uint64(len(plain)-5) != uint64(n)*keyringEntrySize {
			return nil, fmt.Errorf("%w: %d terms in %d bytes", ErrInvalidKeyring, n, len(plain))
		}
		kr := &Keyring{old: make(map[uint32][]byte, n-1)}
		var prev uint32
		for i := range int(n) {
			e := plain[5+i*keyringEntrySize : 5+(i+1)*keyringEntrySize]
			t := binary.BigEndian.Uint32(e)
			if t <= prev {
				kr.Zero()
				return nil, fmt.Errorf("%w: terms not strictly ascending from 1", ErrInvalidKeyring)
			}
			prev = t
			if i == int(n)-1 {
				kr.term, kr.key = t, bytes.Clone(e[4:])
			} else {
				kr.old[t] = bytes.Clone(e[4:])
			}
		}
		return kr, nil
	}
	return nil, fmt.Errorf("%w: unknown format or length %d", ErrInvalidKeyring, len(plain))
}

// NewUpgrade makes the next term: a fresh key read from rand, sealed under
// the newest term's key as an upgrade record
//
//	term(4, BE) || SealAEAD(key of term-1, new key, aad = "keyraft/keyring-upgrade" || term)
//
// which every unsealed node can open with the keyring it already holds
// (Upgrade), so that rotation needs no root key. It returns the new term;
// k itself is unchanged until the record is applied.
func (k *Keyring) NewUpgrade(rand io.Reader) (uint32, []byte, error) {
	k.mu.RLock()
	defer k.mu.RUnlock()
	if k.key == nil {
		return 0, nil, ErrSealed
	}
	if k.term == math.MaxUint32 {
		return 0, nil, fmt.Errorf("%w: no term after %d", ErrInvalidKeyring, k.term)
	}
	next := k.term + 1
	key, err := crypto.NewKey(rand)
	if err != nil {
		return 0, nil, err
	}
	defer clear(key)
	header := binary.BigEndian.AppendUint32(nil, next)
	sealed, err := crypto.SealAEAD(k.key, key, upgradeAAD(header), rand)
	if err != nil {
		return 0, nil, err
	}
	return next, append(header, sealed...), nil
}

// UpgradeTerm is the term an upgrade record introduces, or false for a
// record too short to name one.
func UpgradeTerm(record []byte) (uint32, bool) {
	if len(record) < 4 {
		return 0, false
	}
	return binary.BigEndian.Uint32(record), true
}

// Upgrade adds the terms of the upgrade records, in order, that come after
// k's newest term: each must be the next term and open under the newest key
// k holds by then. Records for terms k already holds are skipped, so the
// whole list of the init record can be given every time. A record that
// does not fit stops the upgrade with ErrInvalidKeyring; the terms added
// before it stay.
func (k *Keyring) Upgrade(records [][]byte) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.key == nil {
		return ErrSealed
	}
	for _, rec := range records {
		term, ok := UpgradeTerm(rec)
		switch {
		case !ok:
			return fmt.Errorf("%w: upgrade record of %d bytes", ErrInvalidKeyring, len(rec))
		case term <= k.term:
			continue
		case term != k.term+1:
			return fmt.Errorf("%w: upgrade to term %d after term %d", ErrInvalidKeyring, term, k.term)
		}
		key, err := crypto.OpenAEAD(k.key, rec[4:], upgradeAAD(rec[:4]))
		if err != nil || len(key) != crypto.KeySize {
			clear(key)
			return fmt.Errorf("%w: upgrade to term %d does not open under term %d", ErrInvalidKeyring, term, k.term)
		}
		if k.old == nil {
			k.old = map[uint32][]byte{}
		}
		k.old[k.term] = k.key
		k.term, k.key = term, key
	}
	return nil
}

func upgradeAAD(header []byte) []byte {
	return append([]byte(upgradeAADPrefix), header...)
}

// ValueTerm is the keyring term a value sealed by Keyring.Seal was sealed
// under, or false for bytes too short to carry the header.
func ValueTerm(sealed []byte) (uint32, bool) {
	if len(sealed) < valueHeaderSize {
		return 0, false
	}
	return binary.BigEndian.Uint32(sealed), true
}

// Seal encrypts plaintext for storage at path. The value is
//
//	term(4, big-endian) || version(1) || SealAEAD(key, plaintext, aad)
//
// with aad = term || version || path, so a value opens only at the path it was
// sealed for and its header cannot be edited. rand supplies the nonce.
func (k *Keyring) Seal(path string, plaintext []byte, rand io.Reader) ([]byte, error) {
	k.mu.RLock()
	defer k.mu.RUnlock()
	if k.key == nil {
		return nil, ErrSealed
	}
	header := k.valueHeader()
	sealed, err := crypto.SealAEAD(k.key, plaintext, valueAAD(header, path), rand)
	if err != nil {
		return nil, err
	}
	return append(header, sealed...), nil
}

// Open decrypts a value sealed by Seal for path. Any malformed, tampered or
// misplaced value gives an error wrapping crypto.ErrInvalidCiphertext; a
// zeroed keyring gives ErrSealed.
func (k *Keyring) Open(path string, sealed []byte) ([]byte, error) {
	k.mu.RLock()
	defer k.mu.RUnlock()
	if k.key == nil {
		return nil, ErrSealed
	}
	if len(sealed) < valueHeaderSize {
		return nil, fmt.Errorf("%w: sealed value too short", crypto.ErrInvalidCiphertext)
	}
	key := k.key
	if term := binary.BigEndian.Uint32(sealed); term != k.term {
		if key = k.old[term]; key == nil {
			return nil, fmt.Errorf("%w: sealed under keyring term %d, which this keyring (newest term %d) does not hold", crypto.ErrInvalidCiphertext, term, k.term)
		}
	}
	if sealed[4] != valueFormat1 {
		return nil, fmt.Errorf("%w: unknown sealed value version %d", crypto.ErrInvalidCiphertext, sealed[4])
	}
	return crypto.OpenAEAD(key, sealed[valueHeaderSize:], valueAAD(sealed[:valueHeaderSize], path))
}

// Zero overwrites the key bytes and drops them; later Seal and Open calls
// return ErrSealed. It waits for in-flight Seal and Open calls to finish.
func (k *Keyring) Zero() {
	k.mu.Lock()
	defer k.mu.Unlock()
	clear(k.key)
	k.key = nil
	for t, key := range k.old {
		clear(key)
		delete(k.old, t)
	}
	k.old = nil
}

func (k *Keyring) valueHeader() []byte {
	h := make([]byte, 0, valueHeaderSize)
	h = binary.BigEndian.AppendUint32(h, k.term)
	return append(h, valueFormat1)
}

// valueAAD is the fixed-size header followed by the path; injective because
// the header length is fixed.
func valueAAD(header []byte, path string) []byte {
	aad := make([]byte, 0, len(header)+len(path))
	return append(append(aad, header...), path...)
}
