package crypto

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

var testCtx = map[string]string{"Department": "Finance", "purpose": "test"}

func mustBlob(t testing.TB, key []byte, h Header, plaintext []byte, ctx map[string]string) []byte {
	t.Helper()
	blob, err := EncryptBlob(key, h, plaintext, ctx, detRand(3))
	if err != nil {
		t.Fatal(err)
	}
	return blob
}

func TestBlobRoundTrip(t *testing.T) {
	key := mustKey(t, 1)
	for _, tc := range []struct {
		name      string
		h         Header
		plaintext []byte
		ctx       map[string]string
	}{
		{"minimal", Header{KeyID: "k", KeyVersion: 0}, nil, nil},
		{"uuid key", Header{KeyID: "1234abcd-12ab-34cd-56ef-1234567890ab", KeyVersion: 7}, []byte("hello"), testCtx},
		{"max key id", Header{KeyID: strings.Repeat("x", 255), KeyVersion: 1<<32 - 1}, []byte("p"), nil},
		{"4096 bytes", Header{KeyID: "k", KeyVersion: 1}, bytes.Repeat([]byte{1}, 4096), testCtx},
	} {
		t.Run(tc.name, func(t *testing.T) {
			blob := mustBlob(t, key, tc.h, tc.plaintext, tc.ctx)
			h, err := ParseHeader(blob)
			if err != nil || h != tc.h {
				t.Fatalf("ParseHeader = %+v, %v; want %+v", h, err, tc.h)
			}
			h, got, err := DecryptBlob(key, blob, tc.ctx)
			if err != nil {
				t.Fatal(err)
			}
			if h != tc.h || !bytes.Equal(got, tc.plaintext) {
				t.Fatalf("DecryptBlob = %+v, %q", h, got)
			}
		})
	}
}

func TestBlobNilAndEmptyContextAreSame(t *testing.T) {
	key := mustKey(t, 1)
	blob := mustBlob(t, key, Header{KeyID: "k", KeyVersion: 1}, []byte("x"), nil)
	if _, _, err := DecryptBlob(key, blob, map[string]string{}); err != nil {
		t.Fatal(err)
	}
	blob = mustBlob(t, key, Header{KeyID: "k", KeyVersion: 1}, []byte("x"), map[string]string{})
	if _, _, err := DecryptBlob(key, blob, nil); err != nil {
		t.Fatal(err)
	}
}

func TestBlobTamperEveryByte(t *testing.T) {
	key := mustKey(t, 1)
	blob := mustBlob(t, key, Header{KeyID: "alias-key", KeyVersion: 3}, []byte("attack at dawn"), testCtx)
	for i := range blob {
		for _, mask := range []byte{0x01, 0x80, 0xFF} {
			tampered := bytes.Clone(blob)
			tampered[i] ^= mask
			if _, _, err := DecryptBlob(key, tampered, testCtx); !errors.Is(err, ErrInvalidCiphertext) {
				t.Fatalf("byte %d ^ %#x: want ErrInvalidCiphertext, got %v", i, mask, err)
			}
		}
	}
}

func TestBlobWrongContext(t *testing.T) {
	key := mustKey(t, 1)
	blob := mustBlob(t, key, Header{KeyID: "k", KeyVersion: 1}, []byte("x"), testCtx)
	for _, tc := range []struct {
		name string
		ctx  map[string]string
	}{
		{"nil", nil},
		{"empty", map[string]string{}},
		{"missing key", map[string]string{"Department": "Finance"}},
		{"extra key", map[string]string{"Department": "Finance", "purpose": "test", "x": ""}},
		{"key case", map[string]string{"department": "Finance", "purpose": "test"}},
		{"value case", map[string]string{"Department": "finance", "purpose": "test"}},
		{"other value", map[string]string{"Department": "Finance", "purpose": "tests"}},
		{"empty value", map[string]string{"Department": "Finance", "purpose": ""}},
		{"moved boundary", map[string]string{"DepartmentF": "inance", "purpose": "test"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, _, err := DecryptBlob(key, blob, tc.ctx); !errors.Is(err, ErrInvalidCiphertext) {
				t.Fatalf("want ErrInvalidCiphertext, got %v", err)
			}
		})
	}
}

func TestBlobWrongKey(t *testing.T) {
	blob := mustBlob(t, mustKey(t, 1), Header{KeyID: "k", KeyVersion: 1}, []byte("x"), nil)
	for _, key := range [][]byte{mustKey(t, 2), nil, make([]byte, 16)} {
		if _, _, err := DecryptBlob(key, blob, nil); !errors.Is(err, ErrInvalidCiphertext) {
			t.Fatalf("key %x: want ErrInvalidCiphertext, got %v", key, err)
		}
	}
}

func TestBlobTruncationAndTrailingGarbage(t *testing.T) {
	key := mustKey(t, 1)
	blob := mustBlob(t, key, Header{KeyID: "key-id", KeyVersion: 2}, []byte("plaintext"), testCtx)
	for n := range len(blob) {
		if _, _, err := DecryptBlob(key, blob[:n], testCtx); !errors.Is(err, ErrInvalidCiphertext) {
			t.Fatalf("truncated to %d: want ErrInvalidCiphertext, got %v", n, err)
		}
	}
	for _, extra := range [][]byte{{0}, []byte("garbage"), make([]byte, 16)} {
		long := append(bytes.Clone(blob), extra...)
		if _, _, err := DecryptBlob(key, long, testCtx); !errors.Is(err, ErrInvalidCiphertext) {
			t.Fatalf("trailing %q: want ErrInvalidCiphertext, got %v", extra, err)
		}
	}
}

func TestParseHeaderMalformed(t *testing.T) {
	key := mustKey(t, 1)
	good := mustBlob(t, key, Header{KeyID: "k", KeyVersion: 1}, []byte("x"), nil)
	with := func(i int, b byte) []byte { c := bytes.Clone(good); c[i] = b; return c }
	for _, tc := range []struct {
		name string
		blob []byte
	}{
		{"nil", nil},
		{"bad magic", with(0, 'X')},
		{"unknown version", with(1, 2)},
		{"zero key id", with(2, 0)},
		{"key id past end", with(2, 255)},
		{"too large", append(bytes.Clone(good), make([]byte, maxBlobSize)...)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := ParseHeader(tc.blob); !errors.Is(err, ErrInvalidCiphertext) {
				t.Fatalf("want ErrInvalidCiphertext, got %v", err)
			}
		})
	}
}

func TestEncryptBlobRejects(t *testing.T) {
	key := mustKey(t, 1)
	for _, tc := range []struct {
		name      string
		key       []byte
		h         Header
		plaintext []byte
	}{
		{"empty key id", key, Header{}, nil},
		{"key id 256", key, Header{KeyID: strings.Repeat("x", 256)}, nil},
		{"too large", key, Header{KeyID: "k"}, make([]byte, maxBlobSize)},
		{"short key", key[:16], Header{KeyID: "k"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := EncryptBlob(tc.key, tc.h, tc.plaintext, nil, nil); err == nil {
				t.Fatal("want error")
			}
		})
	}
	// The largest plaintext that fits produces exactly maxBlobSize bytes.
	h := Header{KeyID: strings.Repeat("x", 255)}
	n := maxBlobSize - (minHeaderSize + 254 + nonceSize + tagSize)
	blob, err := EncryptBlob(key, h, make([]byte, n), nil, nil)
	if err != nil || len(blob) != maxBlobSize {
		t.Fatalf("len %d, err %v", len(blob), err)
	}
	if _, err := EncryptBlob(key, h, make([]byte, n+1), nil, nil); err == nil {
		t.Fatal("one byte over: want error")
	}
}
