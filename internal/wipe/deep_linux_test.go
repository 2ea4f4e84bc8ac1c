package wipe

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"hash"
	"sync"
	"testing"
)

// TestNewHMACLeavesNoPads: once an HMAC NewHMAC made has been used and
// wiped with Deep, this process's memory holds no copy of its key XOR ipad
// or opad; an HMAC of hmac.New, reset and wiped the same way, leaves the
// ones its first Reset dropped.
func TestNewHMACLeavesNoPads(t *testing.T) {
	use := func(newMAC func(key []byte) hash.Hash) (inner, outer []byte) {
		masked := make([]byte, 32) // the key XOR mask: the test keeps no copy of the key
		if _, err := rand.Read(masked); err != nil {
			t.Fatal(err)
		}
		inner, outer = make([]byte, 32), make([]byte, 32)
		for i, b := range masked {
			inner[i], outer[i] = b^0x36, b^0x5c
		}
		// On a goroutine of its own, so that what it leaves on its stack
		// is not mistaken for what the HMAC keeps.
		var wg sync.WaitGroup
		wg.Go(func() {
			key := make([]byte, len(masked))
			for i := range key {
				key[i] = masked[i] ^ mask
			}
			m := newMAC(key)
			clear(key)
			for _, msg := range []string{"a", "b"} {
				m.Reset()
				m.Write([]byte(msg))
				m.Sum(nil)
			}
			if !Deep(m) {
				t.Errorf("%T could not be wiped", m)
			}
		})
		wg.Wait()
		return inner, outer
	}

	inner, outer := use(func(key []byte) hash.Hash { return hmac.New(sha256.New, key) })
	if countUnmasked(t, inner) == 0 || countUnmasked(t, outer) == 0 {
		t.Fatal("the pads hmac.New's first Reset drops are not found: the scan finds nothing")
	}
	inner, outer = use(func(key []byte) hash.Hash {
		m, ok := NewHMAC(sha256.New, key)
		if !ok {
			t.Error("NewHMAC could not wipe the padded keys")
		}
		return m
	})
	if n, m := countUnmasked(t, inner), countUnmasked(t, outer); n+m != 0 {
		t.Errorf("%d copies of key XOR ipad and %d of key XOR opad remain", n, m)
	}
}
