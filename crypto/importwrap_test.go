package crypto

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"fmt"
	"os"
	"testing"
)

// fuzzWrappingKey is a fixed RSA-2048 wrapping key (test only), so that
// the committed seeds, wrapped under it, unwrap on every run.
func fuzzWrappingKey(tb testing.TB) *rsa.PrivateKey {
	tb.Helper()
	der, err := os.ReadFile("testdata/import-wrapping-key.der")
	if err != nil {
		tb.Fatal(err)
	}
	k, err := ParseWrappingKey(der)
	if err != nil {
		tb.Fatal(err)
	}
	return k
}

var wrapAlgs = []string{WrapOAEPSHA1, WrapOAEPSHA256, WrapAESKeyWrapSHA1, WrapAESKeyWrapSHA2}

func TestWrapRoundTrip(t *testing.T) {
	k := fuzzWrappingKey(t)
	for _, alg := range wrapAlgs {
		for _, n := range []int{1, 16, 32, 33, 64, 190} {
			if n < 16 && (alg == WrapAESKeyWrapSHA1 || alg == WrapAESKeyWrapSHA2) {
				continue // tink's KWP wraps 16 bytes or more; all key material is
			}
			m := bytes.Repeat([]byte{byte(n)}, n)
			w, err := WrapKeyMaterial(&k.PublicKey, alg, m, rand.Reader)
			if err != nil {
				t.Fatalf("%s %d: %v", alg, n, err)
			}
			got, err := UnwrapKeyMaterial(k, alg, w)
			if err != nil || !bytes.Equal(got, m) {
				t.Fatalf("%s %d bytes: %v", alg, n, err)
			}
			// Under the other hash, or the other scheme, it does not unwrap.
			for _, other := range wrapAlgs {
				if other == alg {
					continue
				}
				if _, err := UnwrapKeyMaterial(k, other, w); !errors.Is(err, ErrUnwrap) {
					t.Fatalf("%s material unwrapped as %s: %v", alg, other, err)
				}
			}
			w[len(w)-1] ^= 1
			if _, err := UnwrapKeyMaterial(k, alg, w); !errors.Is(err, ErrUnwrap) {
				t.Fatalf("%s: a flipped bit unwrapped: %v", alg, err)
			}
		}
	}
	if _, err := UnwrapKeyMaterial(k, "RSAES_PKCS1_V1_5", make([]byte, 256)); !errors.Is(err, ErrUnsupportedKeySpec) {
		t.Fatalf("an unknown algorithm: %v", err)
	}
}

// FuzzUnwrapKeyMaterial: unwrapping any bytes under any algorithm selector
// never panics, fails only with ErrUnwrap, and whatever unwraps wraps and
// unwraps back to itself.
func FuzzUnwrapKeyMaterial(f *testing.F) {
	k := fuzzWrappingKey(f)
	f.Fuzz(func(t *testing.T, sel, wrapped []byte) {
		alg := "RSAES_PKCS1_V1_5"
		if len(sel) > 0 && int(sel[0]) < len(wrapAlgs) {
			alg = wrapAlgs[sel[0]]
		}
		m, err := UnwrapKeyMaterial(k, alg, wrapped)
		if err != nil {
			if !errors.Is(err, ErrUnwrap) && !errors.Is(err, ErrUnsupportedKeySpec) {
				t.Fatalf("undocumented error %v", err)
			}
			return
		}
		w, err := WrapKeyMaterial(&k.PublicKey, alg, m, rand.Reader)
		if err != nil {
			t.Fatalf("what unwrapped does not wrap again: %v", err)
		}
		if again, err := UnwrapKeyMaterial(k, alg, w); err != nil || !bytes.Equal(again, m) {
			t.Fatalf("round trip: %v", err)
		}
	})
}

// importWrapSeeds are FuzzUnwrapKeyMaterial's committed seeds: valid wraps
// under each algorithm and a few malformed ones.
func importWrapSeeds(t *testing.T) [][2][]byte {
	k := fuzzWrappingKey(t)
	var out [][2][]byte
	for i, alg := range wrapAlgs {
		w, err := WrapKeyMaterial(&k.PublicKey, alg, bytes.Repeat([]byte{0x5a}, 32), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, [2][]byte{{byte(i)}, w})
		short := bytes.Clone(w[:len(w)-8])
		out = append(out, [2][]byte{{byte(i)}, short})
	}
	out = append(out, [2][]byte{{9}, make([]byte, 256)}, [2][]byte{{2}, make([]byte, 256+24)}, [2][]byte{{0}, nil})
	return out
}

func writeImportWrapSeeds(t *testing.T) {
	for i, s := range importWrapSeeds(t) {
		writeSeed(t, "FuzzUnwrapKeyMaterial", fmt.Sprintf("seed-%02d", i), s[0], s[1])
	}
}
