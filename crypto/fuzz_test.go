package crypto

import (
	"bytes"
	"encoding/binary"
	"errors"
	"maps"
	"testing"
)

// fuzzKey and fuzzCtx are what the FuzzParseBlob seeds were sealed with, so
// seeds that decrypt exercise the re-encryption check.
var (
	fuzzKey = bytes.Repeat([]byte{0x42}, KeySize)
	fuzzCtx = map[string]string{"Department": "Finance"}
)

func FuzzParseBlob(f *testing.F) {
	for _, s := range blobSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, blob []byte) {
		h, err := ParseHeader(blob)
		if err != nil && !errors.Is(err, ErrInvalidCiphertext) {
			t.Fatalf("ParseHeader error %v does not wrap ErrInvalidCiphertext", err)
		}
		for _, ctx := range []map[string]string{fuzzCtx, nil} {
			dh, plaintext, derr := DecryptBlob(fuzzKey, blob, ctx)
			if derr != nil {
				if !errors.Is(derr, ErrInvalidCiphertext) {
					t.Fatalf("DecryptBlob error %v does not wrap ErrInvalidCiphertext", derr)
				}
				continue
			}
			if err != nil || dh != h {
				t.Fatalf("decrypted with header %+v but ParseHeader = %+v, %v", dh, h, err)
			}
			// Re-encrypting with the same nonce must reproduce the blob exactly.
			headerLen := minHeaderSize + len(h.KeyID) - 1
			nonce := blob[headerLen : headerLen+nonceSize]
			again, err := EncryptBlob(fuzzKey, h, plaintext, ctx, bytes.NewReader(nonce))
			if err != nil {
				t.Fatalf("re-encrypt: %v", err)
			}
			if !bytes.Equal(again, blob) {
				t.Fatalf("re-encryption differs:\n got %x\nwant %x", again, blob)
			}
		}
	})
}

func FuzzCanonicalContext(f *testing.F) {
	for _, s := range contextSeeds {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, a, b []byte) {
		ma, mb := contextFromBytes(a), contextFromBytes(b)
		ea, eb := CanonicalContext(ma), CanonicalContext(mb)
		if bytes.Equal(ea, eb) != maps.Equal(ma, mb) {
			t.Fatalf("injectivity: %q -> %x, %q -> %x", ma, ea, mb, eb)
		}
		for _, c := range []struct {
			m   map[string]string
			enc []byte
		}{{ma, ea}, {mb, eb}} {
			back, ok := parseCanonical(c.enc)
			if !ok || !maps.Equal(back, c.m) {
				t.Fatalf("encoding of %q does not parse back: %q", c.m, back)
			}
		}
	})
}

// contextFromBytes turns arbitrary bytes into a map: the first byte is a
// separator, the rest splits on it into alternating keys and values. Any byte
// other than the chosen separator can appear in keys and values.
func contextFromBytes(b []byte) map[string]string {
	if len(b) == 0 {
		return nil
	}
	fields := bytes.Split(b[1:], b[:1])
	m := make(map[string]string, len(fields)/2+1)
	for i := 0; i < len(fields); i += 2 {
		v := ""
		if i+1 < len(fields) {
			v = string(fields[i+1])
		}
		m[string(fields[i])] = v
	}
	return m
}

// parseCanonical is an independent decoder of CanonicalContext's format that
// also insists the keys are strictly ascending.
func parseCanonical(b []byte) (map[string]string, bool) {
	m := map[string]string{}
	field := func() (string, bool) {
		if len(b) < 4 {
			return "", false
		}
		n := binary.BigEndian.Uint32(b)
		if uint64(len(b)-4) < uint64(n) {
			return "", false
		}
		s := string(b[4 : 4+n])
		b = b[4+n:]
		return s, true
	}
	prev, first := "", true
	for len(b) > 0 {
		k, ok1 := field()
		v, ok2 := field()
		if !ok1 || !ok2 || (!first && k <= prev) {
			return nil, false
		}
		m[k], prev, first = v, k, false
	}
	return m, true
}

// contextSeeds are pairs that a naive concatenation would confuse.
var contextSeeds = [][2][]byte{
	{[]byte("=a=bc"), []byte("=ab=c")},
	{[]byte(""), []byte("=")},
	{[]byte("=a=b=c="), []byte("=a=b=c")},
	{[]byte("|Department|Finance"), []byte("|department|Finance")},
	{[]byte("\x00a\x00\x00\x00\x00\x01c"), []byte("\x00a\x00\x00\x00\x00\x00\x01c\x00")},
	{[]byte("=x=1=y=2"), []byte("=y=2=x=1")},
}

// blobSeeds returns real blobs sealed under fuzzKey, plus malformed ones.
func blobSeeds(tb testing.TB) [][]byte {
	tb.Helper()
	var out [][]byte
	for i, tc := range []struct {
		h         Header
		plaintext string
		ctx       map[string]string
	}{
		{Header{KeyID: "k", KeyVersion: 1}, "", nil},
		{Header{KeyID: "1234abcd-12ab-34cd-56ef-1234567890ab", KeyVersion: 3}, "hello, world", fuzzCtx},
		{Header{KeyID: "alias/x", KeyVersion: 1<<32 - 1}, "\x00\x01\x02", nil},
	} {
		blob, err := EncryptBlob(fuzzKey, tc.h, []byte(tc.plaintext), tc.ctx, detRand(byte(10+i)))
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, blob)
	}
	short := bytes.Clone(out[0][:minBlobSize-1])
	zeroID := bytes.Clone(out[0])
	zeroID[2] = 0
	return append(out, short, zeroID, []byte("K\x01"), nil)
}
