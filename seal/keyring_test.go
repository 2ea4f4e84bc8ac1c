package seal

import (
	"bytes"
	"errors"
	"testing"

	"github.com/keyraft/keyraft/crypto"
)

func TestKeyringSealOpen(t *testing.T) {
	kr, err := NewKeyring(detRand(1))
	if err != nil {
		t.Fatal(err)
	}
	if kr.term != 1 || len(kr.key) != crypto.KeySize {
		t.Fatalf("new keyring: term %d, key %d bytes", kr.term, len(kr.key))
	}
	for _, pt := range [][]byte{nil, []byte("key material"), bytes.Repeat([]byte{7}, 5000)} {
		sealed, err := kr.Seal("keys/abc/1", pt, nil)
		if err != nil {
			t.Fatal(err)
		}
		got, err := kr.Open("keys/abc/1", sealed)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, pt) {
			t.Fatal("plaintext mismatch")
		}
	}

	sealed, _ := kr.Seal("keys/abc/1", []byte("x"), nil)
	other, _ := NewKeyring(detRand(2))
	tests := []struct {
		name   string
		kr     *Keyring
		path   string
		sealed []byte
	}{
		{"wrong path", kr, "keys/abc/2", sealed},
		{"empty path", kr, "", sealed},
		{"path prefix", kr, "keys/abc/", sealed},
		{"other keyring", other, "keys/abc/1", sealed},
		{"short", kr, "keys/abc/1", sealed[:4]},
		{"nil", kr, "keys/abc/1", nil},
	}
	for i := range sealed {
		tampered := bytes.Clone(sealed)
		tampered[i] ^= 0x01
		tests = append(tests, struct {
			name   string
			kr     *Keyring
			path   string
			sealed []byte
		}{"flip byte", kr, "keys/abc/1", tampered})
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := tc.kr.Open(tc.path, tc.sealed); !errors.Is(err, crypto.ErrInvalidCiphertext) {
				t.Fatalf("want ErrInvalidCiphertext, got %v", err)
			}
		})
	}
}

func TestSealOpenKeyring(t *testing.T) {
	root, _ := GenerateRootKey(nil)
	kr, _ := NewKeyring(nil)
	sealed, err := SealKeyring(root, kr, nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err := OpenKeyring(root, sealed)
	if err != nil {
		t.Fatal(err)
	}
	if got.term != kr.term || !bytes.Equal(got.key, kr.key) {
		t.Fatal("opened keyring differs")
	}
	value, _ := kr.Seal("p", []byte("v"), nil)
	if pt, err := got.Open("p", value); err != nil || string(pt) != "v" {
		t.Fatalf("opened keyring cannot open a value: %v", err)
	}

	wrongRoot, _ := GenerateRootKey(nil)
	flipped := bytes.Clone(sealed)
	flipped[len(flipped)/2] ^= 1
	otherAAD, _ := crypto.SealAEAD(root, []byte("x"), []byte("keyraft/other"), nil)
	for _, tc := range []struct {
		name         string
		root, sealed []byte
	}{
		{"wrong root key", wrongRoot, sealed},
		{"short root key", root[:16], sealed},
		{"tampered", root, flipped},
		{"empty", root, nil},
		{"other purpose", root, otherAAD},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := OpenKeyring(tc.root, tc.sealed); !errors.Is(err, ErrWrongRootKey) {
				t.Fatalf("want ErrWrongRootKey, got %v", err)
			}
		})
	}
	garbage, _ := crypto.SealAEAD(root, []byte("not a keyring"), []byte(keyringAAD), nil)
	if _, err := OpenKeyring(root, garbage); !errors.Is(err, ErrInvalidKeyring) {
		t.Fatalf("want ErrInvalidKeyring, got %v", err)
	}
}

func TestKeyringZero(t *testing.T) {
	kr, _ := NewKeyring(nil)
	key := kr.key
	sealed, _ := kr.Seal("p", []byte("v"), nil)
	kr.Zero()
	if !bytes.Equal(key, make([]byte, len(key))) {
		t.Fatal("key bytes not zeroed")
	}
	if _, err := kr.Seal("p", []byte("v"), nil); !errors.Is(err, ErrSealed) {
		t.Fatalf("Seal after Zero: want ErrSealed, got %v", err)
	}
	if _, err := kr.Open("p", sealed); !errors.Is(err, ErrSealed) {
		t.Fatalf("Open after Zero: want ErrSealed, got %v", err)
	}
	if _, err := SealKeyring(make([]byte, 32), kr, nil); !errors.Is(err, ErrSealed) {
		t.Fatalf("SealKeyring after Zero: want ErrSealed, got %v", err)
	}
}
