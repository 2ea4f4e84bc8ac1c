// Package failtally counts failures that must be recorded but must not
// cost a replicated event each (requests that fail authentication, failed
// unseal attempts): anyone who reaches a port can cause them, as fast as
// they like. The owner takes a summary now and then and records that.
package failtally

import (
	"cmp"
	"slices"
	"strings"
	"sync"
	"time"
)

// DefaultMaxEntries bounds the distinct (kind, source, key) triples a
// Tally keeps between two summaries.
const DefaultMaxEntries = 256

// maxField bounds each counted string: sources and claimed keys are chosen
// by whoever sent the request.
const maxField = 128

// Tally counts failures by kind, source and claimed key. Memory is bounded:
// past MaxEntries distinct triples, further failures are only counted in
// Overflow. The zero value is ready to use.
type Tally struct {
	// MaxEntries is the bound on distinct triples; 0 means DefaultMaxEntries.
	MaxEntries int
	// Now is the clock; nil means time.Now.
	Now func() time.Time

	mu       sync.Mutex // guards everything below
	counts   map[Entry]uint64
	total    uint64
	overflow uint64
	since    time.Time
}

// Entry is one counted triple.
type Entry struct {
	Kind   string `json:"kind"`
	Source string `json:"sourceIPAddress,omitempty"`
	Key    string `json:"accessKeyId,omitempty"`
}

// Count is one line of a Summary.
type Count struct {
	Entry
	Count uint64 `json:"count"`
}

// Summary is what a Tally counted since the previous summary.
type Summary struct {
	Total uint64
	// Counts are the counted triples, most frequent first.
	Counts []Count
	// Overflow are the failures of triples beyond MaxEntries.
	Overflow uint64
	Since    time.Time
	Until    time.Time
}

// Count records one failure of kind from source, claiming key ("" when
// none was claimed).
func (t *Tally) Count(kind, source, key string) {
	e := Entry{Kind: bound(kind), Source: bound(source), Key: bound(key)}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.total == 0 {
		t.since = t.now()
	}
	t.total++
	if _, ok := t.counts[e]; !ok && len(t.counts) >= t.max() {
		t.overflow++
		return
	}
	if t.counts == nil {
		t.counts = map[Entry]uint64{}
	}
	t.counts[e]++
}

// Take returns what was counted since the last Take and starts afresh.
// Total is 0 when nothing failed.
func (t *Tally) Take() Summary {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := Summary{Total: t.total, Overflow: t.overflow, Since: t.since, Until: t.now()}
	for e, n := range t.counts {
		s.Counts = append(s.Counts, Count{Entry: e, Count: n})
	}
	slices.SortFunc(s.Counts, func(a, b Count) int {
		if c := cmp.Compare(b.Count, a.Count); c != 0 {
			return c
		}
		return cmp.Or(cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.Source, b.Source), cmp.Compare(a.Key, b.Key))
	})
	t.counts, t.total, t.overflow = nil, 0, 0
	return s
}

func (t *Tally) max() int {
	if t.MaxEntries > 0 {
		return t.MaxEntries
	}
	return DefaultMaxEntries
}

func (t *Tally) now() time.Time {
	if t.Now != nil {
		return t.Now()
	}
	return time.Now()
}

// bound cuts s to maxField bytes and makes it valid UTF-8, so that it can
// go into a JSON event as it is.
func bound(s string) string {
	if len(s) > maxField {
		s = s[:maxField]
	}
	return strings.ToValidUTF8(s, "?")
}
