package seal

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"testing"
)

func TestSplitCombine(t *testing.T) {
	root, err := GenerateRootKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(root) != 32 {
		t.Fatalf("root key is %d bytes", len(root))
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for _, tc := range []struct{ n, threshold int }{
		{1, 1}, {2, 2}, {3, 2}, {5, 3}, {10, 7}, {255, 2},
	} {
		t.Run("", func(t *testing.T) {
			shares, err := Split(root, tc.n, tc.threshold)
			if err != nil {
				t.Fatal(err)
			}
			if len(shares) != tc.n {
				t.Fatalf("got %d shares, want %d", len(shares), tc.n)
			}
			// Several different threshold-sized subsets, plus all shares.
			subsets := [][]int{rng.Perm(tc.n)[:tc.threshold], rng.Perm(tc.n)[:tc.threshold], rng.Perm(tc.n)[:tc.threshold], rng.Perm(tc.n)}
			first, last := make([]int, tc.threshold), make([]int, tc.threshold)
			for i := range tc.threshold {
				first[i], last[i] = i, tc.n-1-i
			}
			subsets = append(subsets, first, last)
			for _, idx := range subsets {
				subset := make([][]byte, len(idx))
				for i, j := range idx {
					subset[i] = shares[j]
				}
				got, err := Combine(subset)
				if err != nil {
					t.Fatalf("subset %v: %v", idx, err)
				}
				if !bytes.Equal(got, root) {
					t.Fatalf("subset %v does not rebuild the root key", idx)
				}
			}
			if tc.threshold > 2 {
				got, err := Combine(shares[:tc.threshold-1])
				if err == nil && bytes.Equal(got, root) {
					t.Fatal("threshold-1 shares rebuilt the root key")
				}
			}
		})
	}
}

func TestSplitSingleShareIsRootKey(t *testing.T) {
	root, _ := GenerateRootKey(nil)
	shares, err := Split(root, 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(shares[0], root) || &shares[0][0] == &root[0] {
		t.Fatal("the single share must be a copy of the root key")
	}
}

func TestSplitBadParameters(t *testing.T) {
	root, _ := GenerateRootKey(nil)
	for _, tc := range []struct {
		name         string
		key          []byte
		n, threshold int
	}{
		{"zero", root, 0, 0},
		{"threshold 0", root, 3, 0},
		{"threshold > n", root, 2, 3},
		{"n > 255", root, 256, 2},
		{"threshold 1 of 2", root, 2, 1},
		{"negative", root, -1, -1},
		{"short key", root[:16], 3, 2},
		{"nil key", nil, 1, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Split(tc.key, tc.n, tc.threshold); !errors.Is(err, ErrBadParameters) {
				t.Fatalf("want ErrBadParameters, got %v", err)
			}
		})
	}
}

func TestCombineInvalid(t *testing.T) {
	root, _ := GenerateRootKey(nil)
	shares, _ := Split(root, 3, 2)
	for _, tc := range []struct {
		name   string
		shares [][]byte
	}{
		{"none", nil},
		{"single wrong size", [][]byte{shares[0]}},
		{"mixed sizes", [][]byte{shares[0], shares[1][:32]}},
		{"duplicate x", [][]byte{shares[0], shares[0]}},
		{"empty shares", [][]byte{{}, {}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Combine(tc.shares); !errors.Is(err, ErrInvalidShare) {
				t.Fatalf("want ErrInvalidShare, got %v", err)
			}
		})
	}
}
