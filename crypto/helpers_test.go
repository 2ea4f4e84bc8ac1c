package crypto

import (
	"io"
	"math/rand/v2"
	"testing"
)

// detRand returns a deterministic reader so tests and seeds are reproducible.
func detRand(seed byte) io.Reader {
	var s [32]byte
	s[0] = seed
	return rand.NewChaCha8(s)
}

func mustKey(t testing.TB, seed byte) []byte {
	t.Helper()
	k, err := NewKey(detRand(seed))
	if err != nil {
		t.Fatal(err)
	}
	return k
}
