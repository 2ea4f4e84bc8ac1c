package sigv4

import (
	"crypto/hmac"
	"crypto/sha256"
	"hash"
	"sync"
)

// maxSigningKeys bounds a Verifier's signing-key cache. An entry is one
// (secret, scope date) pair and only the current date and the one before it
// can pass the clock check, so this is room for about 500 access keys in use
// around midnight UTC; past it the cache starts over rather than grow.
const maxSigningKeys = 1024

// scope names one signing key: the secret it is derived from and the
// credential scope. Keying by the secret itself, not the access key id, is
// what keeps a rotated or deleted key from working: Verify looks the secret up
// on every request, a new secret misses the cache, and a deleted one never
// reaches it.
type scope struct{ secret, date, region, service string }

// keyCache holds the signing keys Verify has derived, so that the four-HMAC
// derivation runs once per access key per day rather than once per request.
// It holds secrets and keys derived from them in memory only; nothing here is
// ever written to an error or a log. The zero value is empty and ready.
type keyCache struct {
	mu     sync.RWMutex      // guards keys and newest, taken by concurrent Verify calls
	keys   map[scope]*signer // at most maxSigningKeys entries
	newest string            // latest scope date stored (YYYYMMDD sorts by date)
}

// signer is one signing key with a pool of crypto/hmac states keyed by it:
// hmac.New allocates its state on every call, and Reset returns a used one
// to the keyed state, so signing a request allocates no HMAC state.
type signer struct {
	key  [sha256.Size]byte
	macs sync.Pool
}

// macState is a pooled HMAC with room for its sum, which would otherwise
// escape to the heap through the hash.Hash interface.
type macState struct {
	h   hash.Hash
	sum [sha256.Size]byte
}

func newSigner(key [sha256.Size]byte) *signer {
	s := &signer{key: key}
	s.macs.New = func() any { return &macState{h: hmac.New(sha256.New, s.key[:])} }
	return s
}

// mac is HMAC-SHA256(key, msg).
func (s *signer) mac(msg []byte) [sha256.Size]byte {
	m := s.macs.Get().(*macState)
	m.h.Reset()
	m.h.Write(msg)
	m.h.Sum(m.sum[:0])
	out := m.sum
	s.macs.Put(m)
	return out
}

// signingKey returns the signing key of s, from the cache or derived and
// stored. Storing a new date drops the entries older than the previous newest
// date, so keys of past days do not linger.
func (c *keyCache) signingKey(s scope) *signer {
	c.mu.RLock()
	sg, ok := c.keys[s]
	c.mu.RUnlock()
	if ok {
		return sg
	}
	sg = newSigner(deriveSigningKey(s))

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

// deriveSigningKey is the SigV4 HMAC chain "AWS4"+secret → date → region →
// service → aws4_request.
func deriveSigningKey(s scope) [sha256.Size]byte {
	key := hmacChain([]byte("AWS4"+s.secret), s.date)
	key = hmacChain(key, s.region)
	key = hmacChain(key, s.service)
	key = hmacChain(key, terminator)
	return [sha256.Size]byte(key)
}

func hmacChain(key []byte, data string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	return m.Sum(nil)
}
