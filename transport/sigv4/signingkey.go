package sigv4

import (
	"crypto/hmac"
	"crypto/sha256"
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
	mu     sync.RWMutex                // guards keys and newest, taken by concurrent Verify calls
	keys   map[scope][sha256.Size]byte // at most maxSigningKeys entries
	newest string                      // latest scope date stored (YYYYMMDD sorts by date)
}

// signingKey returns the signing key of s, from the cache or derived and
// stored. Storing a new date drops the entries older than the previous newest
// date, so keys of past days do not linger.
func (c *keyCache) signingKey(s scope) [sha256.Size]byte {
	c.mu.RLock()
	key, ok := c.keys[s]
	c.mu.RUnlock()
	if ok {
		return key
	}
	key = deriveSigningKey(s)

	c.mu.Lock()
	defer c.mu.Unlock()
	if c.keys == nil || len(c.keys) >= maxSigningKeys {
		c.keys = make(map[scope][sha256.Size]byte)
	}
	if s.date > c.newest {
		for k := range c.keys {
			if k.date < c.newest {
				delete(c.keys, k)
			}
		}
		c.newest = s.date
	}
	c.keys[s] = key
	return key
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

// hmacSHA256 is HMAC-SHA256 (RFC 2104) for a key of one SHA-256 size, written
// over sha256.Sum256 so that signing a request allocates nothing: hmac.New
// allocates its state on every call. A msg of up to 256 bytes (a string to
// sign is about 140) stays on the stack.
func hmacSHA256(key *[sha256.Size]byte, msg []byte) [sha256.Size]byte {
	const blockSize = 64
	var buf [blockSize + 256]byte
	b := appendPad(buf[:0], key, 0x36)
	inner := sha256.Sum256(append(b, msg...))
	b = appendPad(buf[:0], key, 0x5c)
	return sha256.Sum256(append(b, inner[:]...))
}

// appendPad appends the key, zero-padded to the 64-byte block, XORed with pad.
func appendPad(b []byte, key *[sha256.Size]byte, pad byte) []byte {
	for _, k := range key {
		b = append(b, k^pad)
	}
	for range 64 - len(key) {
		b = append(b, pad)
	}
	return b
}
