package policy

import "sync"

// Cache holds parsed policies by their text, so that a policy is parsed once
// rather than on every request it decides. Its zero value is ready to use.
type Cache struct {
	mu sync.Mutex
	m  map[cacheKey]*Policy
}

type cacheKey struct {
	doc  string
	kind Kind
}

// cacheMax bounds the cache; when full it starts over (documents are few
// and small, so a rare refill costs less than tracking use).
const cacheMax = 4096

// Key returns the key policy doc, parsed.
func (c *Cache) Key(doc string) (*Policy, error) { return c.get(doc, KeyPolicy) }

// Identities returns the identity (IAM) policies docs, parsed.
func (c *Cache) Identities(docs []string) ([]*Policy, error) {
	out := make([]*Policy, 0, len(docs))
	for _, d := range docs {
		p, err := c.get(d, IdentityPolicy)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

func (c *Cache) get(doc string, kind Kind) (*Policy, error) {
	k := cacheKey{doc, kind}
	c.mu.Lock()
	p, ok := c.m[k]
	c.mu.Unlock()
	if ok {
		return p, nil
	}
	p, err := parse([]byte(doc), kind)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.m == nil || len(c.m) >= cacheMax {
		c.m = map[cacheKey]*Policy{}
	}
	c.m[k] = p
	c.mu.Unlock()
	return p, nil
}
