package seal

import (
	"encoding/binary"
	"fmt"
	"io"
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
	// valueFormat1 is the version byte of a value sealed by Keyring.Seal.
	valueFormat1 = 0x01
	// valueHeaderSize is term(4) || version(1).
	valueHeaderSize = 5
)

// Keyring holds the barrier key that encrypts key material at rest. Its term
// names the key so that values sealed under it can be recognised after a
// future rotation. A Keyring is safe for concurrent use; after Zero it refuses
// to seal or open anything.
type Keyring struct {
	mu   sync.RWMutex // guards key: Zero must not race Seal/Open
	term uint32       // immutable after construction
	key  []byte       // the barrier key; nil after Zero
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

// SealKeyring encrypts kr under the root key with AAD "keyraft/keyring". The
// result goes into the replicated init record.
func SealKeyring(rootKey []byte, kr *Keyring, rand io.Reader) ([]byte, error) {
	kr.mu.RLock()
	defer kr.mu.RUnlock()
	if kr.key == nil {
		return nil, ErrSealed
	}
	plain := make([]byte, 0, keyringPlainSize)
	plain = append(plain, keyringFormat1)
	plain = binary.BigEndian.AppendUint32(plain, kr.term)
	plain = append(plain, kr.key...)
	defer clear(plain)
	return crypto.SealAEAD(rootKey, plain, []byte(keyringAAD), rand)
}

// OpenKeyring decrypts a keyring sealed by SealKeyring. A root key that does
// not authenticate it (the usual result of wrong shares) gives ErrWrongRootKey.
func OpenKeyring(rootKey, sealed []byte) (*Keyring, error) {
	plain, err := crypto.OpenAEAD(rootKey, sealed, []byte(keyringAAD))
	if err != nil {
		return nil, ErrWrongRootKey
	}
	defer clear(plain)
	if len(plain) != keyringPlainSize || plain[0] != keyringFormat1 {
		return nil, fmt.Errorf("%w: unknown format or length %d", ErrInvalidKeyring, len(plain))
	}
	key := make([]byte, crypto.KeySize)
	copy(key, plain[5:])
	return &Keyring{term: binary.BigEndian.Uint32(plain[1:5]), key: key}, nil
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
	if term := binary.BigEndian.Uint32(sealed); term != k.term {
		return nil, fmt.Errorf("%w: sealed under keyring term %d, have term %d", crypto.ErrInvalidCiphertext, term, k.term)
	}
	if sealed[4] != valueFormat1 {
		return nil, fmt.Errorf("%w: unknown sealed value version %d", crypto.ErrInvalidCiphertext, sealed[4])
	}
	return crypto.OpenAEAD(k.key, sealed[valueHeaderSize:], valueAAD(sealed[:valueHeaderSize], path))
}

// Zero overwrites the key bytes and drops them; later Seal and Open calls
// return ErrSealed. It waits for in-flight Seal and Open calls to finish.
func (k *Keyring) Zero() {
	k.mu.Lock()
	defer k.mu.Unlock()
	clear(k.key)
	k.key = nil
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
