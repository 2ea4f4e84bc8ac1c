package sigv4

import (
	"crypto/sha256"
	"hash"
	"sync"

	"github.com/keyraft/keyraft/internal/wipe"
)

// maxSigningKeys bounds a Verifier's signing-key cache. An entry is one
// (secret, scope date) pair and only the current date and the one before it
// can pass the clock check, so this is room for about 500 access keys in use
// around midnight UTC; past it the cache starts over rather than grow.
const maxSigningKeys = 1024

// scope names one signing key: the secret it is derived from and the
// credential scope. Keying by the secret, not the access key id, is what
// keeps a rotated or deleted key from working: Verify looks the secret up on
// every request, a new secret misses the cache, and a deleted one never
// reaches it. The secret is held as its SHA-256, which cannot sign, so the
// cache keeps no copy of it (Go strings cannot be zeroed).
type scope struct {
	secret                [sha256.Size]byte // SHA-256 of the secret access key
	date, region, service string
}

// secretID is the cache's name for a secret.
func secretID(secret []byte) [sha256.Size]byte { return sha256.Sum256(secret) }

// keyCache holds the signing keys Verify has derived, so that the four-HMAC
// derivation runs once per access key per day rather than once per request.
// It holds keys derived from secrets in memory only, until forget zeroes
// them; nothing here is ever written to an error or a log. The zero value is
// empty and ready.
type keyCache struct {
	mu     sync.RWMutex      // guards keys and newest, taken by concurrent Verify calls
	keys   map[scope]*signer // at most maxSigningKeys entries
	newest string            // latest scope date stored (YYYYMMDD sorts by date)
}

// signer is one signing key with a pool of crypto/hmac states keyed by it:
// hmac.New allocates its state on every call, and Reset returns a used one
// to the keyed state, so signing a request allocates no HMAC state. Every
// state made is also listed, so that wipe can zero it: crypto/hmac gives no
// way to clear one, and its states hold the padded key or the SHA-256
// states after it, each as good as the key. wipe.NewHMAC makes them so that
// no copy escapes the list, and wipe.Deep zeroes them.
type signer struct {
	mu     sync.RWMutex // guards every field below: mac reads, wipe zeroes
	key    [sha256.Size]byte
	wiped  bool
	macs   sync.Pool   // of *macState; no New: mac makes them (newState)
	states []*macState // every state made for macs, so that wipe reaches them; guarded by statesMu
}

// macState is a pooled HMAC with room for its sum, which would otherwise
// escape to the heap through the hash.Hash interface.
type macState struct {
	h   hash.Hash
	sum [sha256.Size]byte
}

func newSigner(key [sha256.Size]byte) *signer { return &signer{key: key} }

// mac is HMAC-SHA256(key, msg); ok is false once the signer was wiped
// (the node sealed while the request was being checked).
func (s *signer) mac(msg []byte) (out [sha256.Size]byte, ok bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.wiped {
		return out, false
	}
	m, _ := s.macs.Get().(*macState)
	if m == nil {
		m = s.newState()
	}
	m.h.Reset()
	m.h.Write(msg)
	m.h.Sum(m.sum[:0])
	out = m.sum
	s.macs.Put(m)
	return out, true
}

// statesMu guards signer.states of every signer (mac holds only a read
// lock when it makes a state); states are made rarely, once per pooled
// state, so one lock for all signers costs nothing.
var statesMu sync.Mutex

func (s *signer) newState() *macState {
	h, _ := wipe.NewHMAC(sha256.New, s.key[:]) // ok: TestSignerForgetZeroes checks it
	m := &macState{h: h}
	statesMu.Lock()
	s.states = append(s.states, m)
	statesMu.Unlock()
	return m
}

// wipe zeroes the key and every HMAC state keyed by it; later macs fail.
func (s *signer) wipe() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.wiped = true
	clear(s.key[:])
	statesMu.Lock()
	for _, m := range s.states {
		wipe.Deep(m.h)
		clear(m.sum[:])
	}
	s.states = nil
	statesMu.Unlock()
}

// signingKey returns the signer of s, from the cache or derived from secret
// and stored. Storing a new date drops the entries older than the previous
// newest date, so keys of past days do not linger.
func (c *keyCache) signingKey(s scope, secret []byte) *signer {
	c.mu.RLock()
	sg, ok := c.keys[s]
	c.mu.RUnlock()
	if ok {
		return sg
	}
	key := deriveSigningKey(secret, s)
	sg = newSigner(key)
	clear(key[:])

	c.mu.Lock()
	defer c.mu.Unlock()
	if c.keys == nil || len(c.keys) >= maxSigningKeys {
		c.keys = make(map[scope]*signer)
	}
	if s.date > c.newest {
		for k := range c.keys {
			if k.date < c.newest {
				delete(c.keys, k)
			}
		}
		c.newest = s.date
	}
	c.keys[s] = sg
	return sg
}

// forget zeroes and drops every cached signing key.
func (c *keyCache) forget() {
	c.mu.Lock()
	keys := c.keys
	c.keys, c.newest = nil, ""
	c.mu.Unlock()
	for _, sg := range keys {
		sg.wipe()
	}
}

// deriveSigningKey is the SigV4 HMAC chain "AWS4"+secret → date → region →
// service → aws4_request. Every intermediate key is zeroed.
func deriveSigningKey(secret []byte, s scope) [sha256.Size]byte {
	seed := make([]byte, 0, 4+len(secret))
	seed = append(append(seed, "AWS4"...), secret...)
	key := hmacChain(seed, s.date)
	clear(seed)
	for _, part := range []string{s.region, s.service, terminator} {
		next := hmacChain(key[:], part)
		clear(key[:])
		key = next
	}
	return key
}

// hmacChain is one step of the derivation, on a throwaway HMAC zeroed
// before it returns. Its key is at most 64 bytes, SHA-256's block size, as
// wipe.NewHMAC needs: a derived key is 32, and "AWS4" and a secret of
// iam.NewAccessKey's 40 characters make 44.
func hmacChain(key []byte, data string) [sha256.Size]byte {
	m, _ := wipe.NewHMAC(sha256.New, key)
	m.Write([]byte(data))
	sum := make([]byte, 0, sha256.Size) // Sum's argument escapes: zeroed below
	sum = m.Sum(sum)
	out := [sha256.Size]byte(sum)
	clear(sum)
	wipe.Deep(m)
	return out
}
