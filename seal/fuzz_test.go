package seal

import (
	"bytes"
	"errors"
	"testing"

	"github.com/keyraft/keyraft/crypto"
)

// fuzzRoot and fuzzKeyring are what the FuzzKeyringOpen seeds were sealed with.
var (
	fuzzRoot    = bytes.Repeat([]byte{0x5A}, crypto.KeySize)
	fuzzKeyring = &Keyring{term: 1, key: bytes.Repeat([]byte{0xA5}, crypto.KeySize)}
)

const fuzzPath = "keys/fuzz/1"

// FuzzKeyringOpen feeds arbitrary bytes to OpenKeyring and Keyring.Open: they
// must never panic, must fail only with their documented errors, and whatever
// opens must round-trip.
func FuzzKeyringOpen(f *testing.F) {
	for _, s := range keyringSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, sealed []byte) {
		kr, err := OpenKeyring(fuzzRoot, sealed)
		switch {
		case err == nil:
			again, err := SealKeyring(fuzzRoot, kr, nil)
			if err != nil {
				t.Fatal(err)
			}
			kr2, err := OpenKeyring(fuzzRoot, again)
			if err != nil || kr2.term != kr.term || !bytes.Equal(kr2.key, kr.key) {
				t.Fatalf("keyring does not round-trip: %v", err)
			}
		case !errors.Is(err, ErrWrongRootKey) && !errors.Is(err, ErrInvalidKeyring):
			t.Fatalf("OpenKeyring: unexpected error %v", err)
		}

		pt, err := fuzzKeyring.Open(fuzzPath, sealed)
		switch {
		case err == nil:
			again, err := fuzzKeyring.Seal(fuzzPath, pt, bytes.NewReader(sealed[valueHeaderSize:]))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(again, sealed) {
				t.Fatalf("re-sealing with the same nonce differs:\n got %x\nwant %x", again, sealed)
			}
		case !errors.Is(err, crypto.ErrInvalidCiphertext):
			t.Fatalf("Keyring.Open: unexpected error %v", err)
		}
	})
}

// keyringSeeds returns a real sealed keyring, real sealed values, and
// malformed inputs.
func keyringSeeds(tb testing.TB) [][]byte {
	tb.Helper()
	kr, err := NewKeyring(detRand(1))
	if err != nil {
		tb.Fatal(err)
	}
	sealedKR, err := SealKeyring(fuzzRoot, kr, detRand(2))
	if err != nil {
		tb.Fatal(err)
	}
	v1, err := fuzzKeyring.Seal(fuzzPath, []byte("key material"), detRand(3))
	if err != nil {
		tb.Fatal(err)
	}
	v2, err := fuzzKeyring.Seal(fuzzPath, nil, detRand(4))
	if err != nil {
		tb.Fatal(err)
	}
	otherTerm := bytes.Clone(v1)
	otherTerm[3] = 2
	return [][]byte{sealedKR, v1, v2, otherTerm, sealedKR[:20], {0, 0, 0, 1, 1}, nil}
}
