package seal

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

// initialized is what `operator init` produces: a root key split into shares
// and a keyring sealed under it.
type initialized struct {
	rootKey       []byte
	shares        [][]byte
	keyring       *Keyring
	sealedKeyring []byte
}

func mustInit(t testing.TB, n, threshold int) initialized {
	t.Helper()
	root, err := GenerateRootKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	shares, err := Split(root, n, threshold)
	if err != nil {
		t.Fatal(err)
	}
	kr, err := NewKeyring(nil)
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := SealKeyring(root, kr, nil)
	if err != nil {
		t.Fatal(err)
	}
	return initialized{root, shares, kr, sealed}
}
