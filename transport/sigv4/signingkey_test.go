package sigv4

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"testing"
	"unsafe"

	"github.com/keyraft/keyraft/internal/wipe"
)

// TestSignerForgetZeroes: a signer's pooled crypto/hmac states give
// hmac.New's answer each time, whatever the message before, and once the
// signer is wiped (as Forget does) the memory they reach (their padded keys,
// or the SHA-256 states after them, and their hash states) holds no byte
// that is not zero, nor does the signer's key.
func TestSignerForgetZeroes(t *testing.T) {
	key := sha256.Sum256([]byte("key"))
	if _, ok := wipe.NewHMAC(sha256.New, key[:]); !ok {
		t.Fatal("wipe.NewHMAC cannot zero the padded keys crypto/hmac drops")
	}
	sg := newSigner(key)
	for _, n := range []int{0, 1, 64, 140, 1000, 3} {
		msg := []byte(strings.Repeat("m", n))
		m := hmac.New(sha256.New, key[:])
		m.Write(msg)
		if got, ok := sg.mac(msg); !ok || !hmac.Equal(got[:], m.Sum(nil)) {
			t.Errorf("len %d: %x, crypto/hmac %x", n, got, m.Sum(nil))
		}
	}
	sg.newState()           // a second state, as concurrent requests make
	if len(sg.states) < 2 { // more under the race detector, whose pools drop items
		t.Fatalf("%d HMAC states, want 2", len(sg.states))
	}
	var mem [][]byte
	for _, m := range sg.states {
		mem = append(mem, memoryOf(t, reflect.ValueOf(m))...)
	}
	mem = append(mem, sg.key[:])
	// What the states keep: the SHA-256 chaining values after key XOR ipad
	// and after key XOR opad, big-endian as MarshalBinary writes them,
	// little-endian as sha256's state holds them.
	var patterns [][]byte
	for _, pad := range []byte{0x36, 0x5c} {
		block := bytes.Repeat([]byte{pad}, sha256.BlockSize)
		for i := range key {
			block[i] ^= key[i]
		}
		h := sha256.New()
		h.Write(block)
		st, err := h.(encoding.BinaryMarshaler).MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		be := st[4 : 4+sha256.Size] // after the "sha\x03" magic
		le := bytes.Clone(be)
		for i := 0; i < len(le); i += 4 {
			le[i], le[i+1], le[i+2], le[i+3] = le[i+3], le[i+2], le[i+1], le[i]
		}
		patterns = append(patterns, be, le, block[:sha256.Size])
	}
	found := func() (n int) {
		for _, b := range mem {
			for _, p := range append(patterns, key[:]) {
				n += bytes.Count(b, p)
			}
		}
		return n
	}
	// Each state keeps both chaining values, marshaled (big-endian), for
	// Reset and Sum to start from, and (Go 1.26) in its two hash states;
	// the signer keeps the key. None keeps a padded key.
	if n := found(); n < 2*2+1 {
		t.Fatalf("the scan finds %d copies of the key and its HMAC states before the wipe", n)
	}

	sg.wipe()
	if n := found(); n != 0 {
		t.Errorf("%d copies of the key or its HMAC states remain after the wipe", n)
	}
	for _, b := range mem {
		if !bytes.Equal(b, make([]byte, len(b))) {
			t.Fatalf("a kept HMAC state holds %d non-zero bytes after the wipe", len(b)-bytes.Count(b, []byte{0}))
		}
	}
	if _, ok := sg.mac([]byte("x")); ok {
		t.Error("a wiped signer still signs")
	}
}

// memoryOf is the memory v reaches, as wipe.Deep walks it: a byte view of
// each number, pointer-free array and slice backing array (up to its
// capacity).
func memoryOf(t *testing.T, v reflect.Value) [][]byte {
	t.Helper()
	var out [][]byte
	seen := map[uintptr]bool{}
	var walk func(v reflect.Value)
	walk = func(v reflect.Value) {
		switch v.Kind() {
		case reflect.Pointer, reflect.Interface:
			if v.IsNil() || v.Kind() == reflect.Pointer && seen[v.Pointer()] {
				return
			}
			if v.Kind() == reflect.Pointer {
				seen[v.Pointer()] = true
			}
			walk(v.Elem())
		case reflect.Struct, reflect.Array:
			if pointerFree(v.Type()) { // one view, so that a pattern may span fields
				out = append(out, unsafe.Slice((*byte)(v.Addr().UnsafePointer()), v.Type().Size()))
			} else if v.Kind() == reflect.Struct {
				for i := range v.NumField() {
					walk(v.Field(i))
				}
			} else {
				for i := range v.Len() {
					walk(v.Index(i))
				}
			}
		case reflect.Slice:
			all := v.Slice(0, v.Cap())
			if pointerFree(all.Type().Elem()) {
				out = append(out, unsafe.Slice((*byte)(all.UnsafePointer()), uintptr(all.Len())*all.Type().Elem().Size()))
				return
			}
			for i := range all.Len() {
				walk(all.Index(i))
			}
		case reflect.Bool, reflect.Int, reflect.Int32, reflect.Int64, reflect.Uint8, reflect.Uint32, reflect.Uint64:
			out = append(out, unsafe.Slice((*byte)(v.Addr().UnsafePointer()), v.Type().Size()))
		default:
			t.Fatalf("memoryOf: %s", v.Type())
		}
	}
	walk(v)
	return out
}

// pointerFree reports whether t holds numbers only.
func pointerFree(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Array:
		return pointerFree(t.Elem())
	case reflect.Struct:
		for i := range t.NumField() {
			if !pointerFree(t.Field(i).Type) {
				return false
			}
		}
		return true
	case reflect.Pointer, reflect.Interface, reflect.Slice, reflect.Map, reflect.Chan, reflect.Func, reflect.String, reflect.UnsafePointer:
		return false
	default:
		return true
	}
}

// TestVerifyRotatedSecret: once a key's signing key is cached, a request
// signed with its old secret is refused as soon as Secret returns a new one,
// a request signed with the new secret is accepted, and a deleted key is
// unrecognised.
func TestVerifyRotatedSecret(t *testing.T) {
	const newSecret = "rotatedSecretAccessKeyEXAMPLE0000000000"
	var mu sync.Mutex
	current, exists := testSecret, true
	v := testVerifier(t0)
	v.Secret = func(id string) ([]byte, bool) {
		mu.Lock()
		defer mu.Unlock()
		return []byte(current), id == testAKID && exists
	}
	oldR, oldBody := signSDK(t, defaultOpts())
	wantAccepted(t, v, oldR, oldBody) // caches the old secret's key
	wantAccepted(t, v, oldR, oldBody) // from the cache

	mu.Lock()
	current = newSecret
	mu.Unlock()
	wantAuthError(t, v, oldR, oldBody, TypeInvalidSignature, msgSignatureMismatch)
	o := defaultOpts()
	o.secret = newSecret
	newR, newBody := signSDK(t, o)
	wantAccepted(t, v, newR, newBody)

	mu.Lock()
	exists = false
	mu.Unlock()
	wantAuthError(t, v, newR, newBody, TypeUnrecognizedClient, msgUnrecognized)
	wantAuthError(t, v, oldR, oldBody, TypeUnrecognizedClient, msgUnrecognized)
}

// TestKeyCacheBounded: the cache never holds more than maxSigningKeys
// entries, and storing a new date drops the dates before the previous one.
func TestKeyCacheBounded(t *testing.T) {
	var c keyCache
	for i := range maxSigningKeys + 10 {
		secret := []byte(fmt.Sprint("secret", i))
		s := scope{secret: secretID(secret), date: "20260101", region: testRegion, service: "kms"}
		if got, want := c.signingKey(s, secret).key, deriveSigningKey(secret, s); got != want {
			t.Fatalf("entry %d: cached key differs from the derived one", i)
		}
		if len(c.keys) > maxSigningKeys {
			t.Fatalf("%d entries", len(c.keys))
		}
	}

	c = keyCache{}
	for _, date := range []string{"20260101", "20260102", "20260102", "20260101", "20260103"} {
		for _, secret := range []string{"a", "b"} {
			c.signingKey(scope{secret: secretID([]byte(secret)), date: date, region: testRegion, service: "kms"}, []byte(secret))
		}
	}
	for k := range c.keys {
		if k.date == "20260101" {
			t.Errorf("entry of %s kept after 20260103 was stored", k.date)
		}
	}
	if len(c.keys) != 4 {
		t.Errorf("%d entries, want the 4 of 20260102 and 20260103", len(c.keys))
	}
}

// TestKeyCacheScope: each part of the scope selects its own key.
func TestKeyCacheScope(t *testing.T) {
	var c keyCache
	secret, other := []byte(testSecret), []byte(testSecret+"x")
	base := scope{secret: secretID(secret), date: "20260101", region: testRegion, service: "kms"}
	seen := map[[sha256.Size]byte]scope{}
	for _, sc := range []struct {
		secret []byte
		s      scope
	}{
		{secret, base},
		{other, scope{secret: secretID(other), date: base.date, region: base.region, service: base.service}},
		{secret, scope{secret: base.secret, date: "20260102", region: base.region, service: base.service}},
		{secret, scope{secret: base.secret, date: base.date, region: "eu-west-1", service: base.service}},
		{secret, scope{secret: base.secret, date: base.date, region: base.region, service: "iam"}},
	} {
		s := sc.s
		key := c.signingKey(s, sc.secret).key
		if key != deriveSigningKey(sc.secret, s) {
			t.Fatalf("%v: cached key differs from the derived one", s.date)
		}
		if _, dup := seen[key]; dup {
			t.Fatalf("two scopes share a key")
		}
		seen[key] = s
	}
	if key := c.signingKey(base, secret).key; key != deriveSigningKey(secret, base) {
		t.Fatal("the first scope's key changed")
	}
}

// TestVerifyConcurrent shares one Verifier between goroutines, for the race
// detector: requests of several access keys, accepted and refused.
func TestVerifyConcurrent(t *testing.T) {
	secrets := map[string]string{testAKID: testSecret, "AKIDOTHER": "otherSecretAccessKeyEXAMPLE000000000000"}
	v := testVerifier(t0)
	v.Secret = func(id string) ([]byte, bool) { s, ok := secrets[id]; return []byte(s), ok }
	r, body := signSDK(t, defaultOpts())
	wire := signWire(t, signOpts{url: testURL, headers: kmsHeaders(), body: []byte(testBody), secret: "wrong"})
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			bad, badBody := readWire(t, wire)
			for range 50 {
				if _, err := v.Verify(r.Clone(r.Context()), body); err != nil {
					t.Error(err)
					return
				}
				if _, err := v.Verify(bad, badBody); err == nil {
					t.Error("a request signed with the wrong secret was accepted")
					return
				}
			}
		})
	}
	wg.Wait()
}

// TestVerifyAllocatesOnce guards the point of the signing-key cache, the
// pooled HMAC states and the stack buffers: a Go SDK KMS Encrypt request is
// verified with one allocation (the string to sign, which escapes into
// crypto/hmac's Write) where it took 81.
func TestVerifyAllocatesOnce(t *testing.T) {
	r, body := kmsEncryptRequest(t, 4096)
	date, _ := parseAmzDate(r.Header.Get("X-Amz-Date"))
	v := testVerifier(date)
	// Secret hands Verify a copy to zero: refill one buffer, so that the
	// count is Verify's own.
	buf := make([]byte, len(testSecret))
	v.Secret = func(string) ([]byte, bool) { return append(buf[:0], testSecret...), true }
	wantAccepted(t, v, r, body)
	if n := testing.AllocsPerRun(100, func() {
		if _, err := v.Verify(r, body); err != nil {
			t.Fatal(err)
		}
		for _, b := range buf {
			if b != 0 {
				t.Fatal("Verify left the secret it was handed in memory")
			}
		}
	}); n > 1 && !raceEnabled {
		t.Errorf("Verify allocates %v times per request", n)
	}
}

// TestCanonicalHeadersFastPath: the lookup of canonical keys that Verify uses
// for requests from net/http's server builds the same canonical request as the
// index it falls back on when some key is not canonical.
func TestCanonicalHeadersFastPath(t *testing.T) {
	for name, bv := range loadVectors(t) {
		r, body := readWire(t, bv.wire(t, bv.Body))
		checkFastPath(t, name, r, payloadHash(body))
	}
	for _, o := range []signOpts{
		defaultOpts(),
		{headers: kmsHeaders([2]string{"X-Amz-Meta-Dup", "first"}, [2]string{"X-Amz-Meta-Dup", "  second   value "}), body: []byte(testBody)},
		{headers: kmsHeaders([2]string{"Content-Md5", "x"}, [2]string{"X_Underscore", "y"}), body: []byte(testBody)},
	} {
		r, body := signSDK(t, o)
		checkFastPath(t, "sdk", r, payloadHash(body))
	}
}

func checkFastPath(t *testing.T, name string, r *http.Request, hash string) {
	t.Helper()
	a, err := ParseAuthorization(r.Header.Get("Authorization"))
	if err != nil {
		t.Fatal(err)
	}
	if !canonicalKeys(r.Header) {
		t.Fatalf("%s: net/http left a key not canonical: %q", name, r.Header)
	}
	fast, ok := canonicalString(r, a.SignedHeaders, hash, false)
	if !ok {
		t.Fatalf("%s: fast path refused the request", name)
	}
	r.Header["x-not-signed"] = []string{"forces the index"}
	slow, ok := canonicalString(r, a.SignedHeaders, hash, false)
	delete(r.Header, "x-not-signed")
	if !ok || slow != fast {
		t.Fatalf("%s: fast path\n%s\nindex\n%s", name, fast, slow)
	}
}

// TestVerifierForget: Forget zeroes every cached signing key and the hash
// states keyed by it, and the Verifier derives them again afterwards.
func TestVerifierForget(t *testing.T) {
	v := testVerifier(t0)
	r, body := signSDK(t, defaultOpts())
	wantAccepted(t, v, r, body)
	wantAccepted(t, v, r, body)
	var signers []*signer
	for _, sg := range v.keys.keys {
		signers = append(signers, sg)
	}
	if len(signers) != 1 || len(signers[0].states) == 0 {
		t.Fatalf("%d signers cached, want 1 with its hash states", len(signers))
	}
	states := signers[0].states
	v.Forget()
	if len(v.keys.keys) != 0 {
		t.Fatalf("%d signing keys kept after Forget", len(v.keys.keys))
	}
	sg := signers[0]
	if sg.key != [sha256.Size]byte{} {
		t.Error("a signing key survived Forget")
	}
	for _, m := range states {
		for _, b := range memoryOf(t, reflect.ValueOf(m)) {
			if !bytes.Equal(b, make([]byte, len(b))) {
				t.Fatal("an HMAC state keyed by a forgotten key was not zeroed")
			}
		}
	}
	if _, ok := sg.mac([]byte("x")); ok {
		t.Error("a forgotten signer still signs")
	}
	wantAccepted(t, v, r, body)
}
