package crypto

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
)

func TestNewKey(t *testing.T) {
	a, err := NewKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(a) != KeySize || len(b) != KeySize || bytes.Equal(a, b) {
		t.Fatalf("want two distinct %d-byte keys, got %x and %x", KeySize, a, b)
	}
	if _, err := NewKey(bytes.NewReader(make([]byte, KeySize-1))); err == nil {
		t.Fatal("short random source: want error")
	}
}

func TestAEADRoundTrip(t *testing.T) {
	key := mustKey(t, 1)
	for _, tc := range []struct {
		name           string
		plaintext, aad []byte
	}{
		{"empty", nil, nil},
		{"with aad", []byte("hello"), []byte("keyraft/keyring")},
		{"large", bytes.Repeat([]byte{0xAB}, 1<<16), []byte("x")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sealed, err := SealAEAD(key, tc.plaintext, tc.aad, detRand(2))
			if err != nil {
				t.Fatal(err)
			}
			if len(sealed) != nonceSize+len(tc.plaintext)+tagSize {
				t.Fatalf("sealed length %d", len(sealed))
			}
			got, err := OpenAEAD(key, sealed, tc.aad)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, tc.plaintext) {
				t.Fatal("plaintext mismatch")
			}
		})
	}
}

func TestAEADFailures(t *testing.T) {
	key := mustKey(t, 1)
	sealed, err := SealAEAD(key, []byte("secret"), []byte("aad"), nil)
	if err != nil {
		t.Fatal(err)
	}
	flipped := bytes.Clone(sealed)
	flipped[len(flipped)-1] ^= 1
	for _, tc := range []struct {
		name             string
		key, sealed, aad []byte
	}{
		{"wrong key", mustKey(t, 9), sealed, []byte("aad")},
		{"short key", key[:16], sealed, []byte("aad")},
		{"wrong aad", key, sealed, []byte("aae")},
		{"no aad", key, sealed, nil},
		{"flipped tag", key, flipped, []byte("aad")},
		{"too short", key, sealed[:nonceSize+tagSize-1], []byte("aad")},
		{"nil", key, nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := OpenAEAD(tc.key, tc.sealed, tc.aad); !errors.Is(err, ErrInvalidCiphertext) {
				t.Fatalf("want ErrInvalidCiphertext, got %v", err)
			}
		})
	}
	if _, err := SealAEAD(key[:31], nil, nil, nil); err == nil {
		t.Fatal("31-byte key: want error")
	}
}

// TestAEADWiped: the GCM instance (which holds a copy of the AES key
// schedule, whose first round key is the key itself) is all zeros once its
// user is done with it.
func TestAEADWiped(t *testing.T) {
	gcm, done, err := newGCM(mustKey(t, 9))
	if err != nil {
		t.Fatal(err)
	}
	gcm.Seal(nil, make([]byte, nonceSize), []byte("plaintext"), nil)
	if reflect.ValueOf(gcm).Elem().IsZero() {
		t.Fatal("a fresh GCM instance is all zeros")
	}
	done()
	if !reflect.ValueOf(gcm).Elem().IsZero() {
		t.Fatalf("%T still holds key-dependent state after its wipe", gcm)
	}
}
