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

// blockSize is SHA-256's block size, the length of HMAC's padded key.
const blockSize = 64

// signer is one signing key with a pool of SHA-256 states for HMACs keyed by
// it: sha256.New allocates on every call, so signing a request allocates no
// hash state. It computes HMAC itself (RFC 2104, two SHA-256 passes over the
// padded key) rather than through crypto/hmac, whose states hold the padded
// key in memory this package could not zero; TestSignerMAC checks it
// against crypto/hmac.
type signer struct {
	mu     sync.RWMutex // guards every field below: mac reads, wipe zeroes
	key    [sha256.Size]byte
	ipad   [blockSize]byte // key XOR 0x36, zero-padded key first
	opad   [blockSize]byte // key XOR 0x5c
	wiped  bool
	macs   sync.Pool   // of *macState; no New: mac makes them (newState)
	states []*macState // every state made for macs, so that wipe reaches them; guarded by statesMu
}

// macState is a pooled SHA-256 with room for its sum, which would otherwise
// escape to the heap through the hash.Hash interface.
type macState struct {
	h   hash.Hash
	sum [sha256.Size]byte
}

func newSigner(key [sha256.Size]byte) *signer {
	s := &signer{key: key}
	s.setPads(key[:])
	return s
}

// setPads derives the inner and outer pads from key, which is at most
// blockSize bytes.
func (s *signer) setPads(key []byte) {
	for i := range blockSize {
		var k byte
		if i < len(key) {
			k = key[i]
		}
		s.ipad[i], s.opad[i] = k^0x36, k^0x5c
	}
}

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
	m.h.Write(s.ipad[:])
	m.h.Write(msg)
	inner := m.h.Sum(m.sum[:0])
	m.h.Reset()
	m.h.Write(s.opad[:])
	m.h.Write(inner)
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
	m := &macState{h: sha256.New()}
	statesMu.Lock()
	s.states = append(s.states, m)
	statesMu.Unlock()
	return m
}

// wipe zeroes the key, its pads and every hash state keyed by it; later
// macs fail.
func (s *signer) wipe() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.wiped = true
	clear(s.key[:])
	clear(s.ipad[:])
	clear(s.opad[:])
	statesMu.Lock()
	for _, m := range s.states {
		wipe.Pointee(m.h)
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

// hmacChain is one step of the derivation, on a throwaway signer that is
// wiped before it returns.
func hmacChain(key []byte, data string) [sha256.Size]byte {
	var k [sha256.Size]byte
	if len(key) > blockSize {
		k = sha256.Sum256(key)
		key = k[:]
	}
	sg := &signer{}
	sg.setPads(key)
	clear(k[:])
	out, _ := sg.mac([]byte(data))
	sg.wipe()
	return out
}
