package failtally

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestTally(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tl := &Tally{MaxEntries: 3, Now: func() time.Time { return now }}
	if s := tl.Take(); s.Total != 0 || len(s.Counts) != 0 {
		t.Fatalf("an empty tally summarised %+v", s)
	}
	for range 5 {
		tl.Count("InvalidSignatureException", "10.0.0.1", "AKIAONE")
	}
	tl.Count("MissingAuthenticationTokenException", "10.0.0.2", "")
	tl.Count("UnrecognizedClientException", "10.0.0.3", strings.Repeat("K", 1000)+"\xff")
	for i := range 100 { // distinct triples past the bound
		tl.Count("UnrecognizedClientException", "10.0.1.1", strings.Repeat("x", i))
	}
	s := tl.Take()
	if s.Total != 107 || s.Overflow != 100 || len(s.Counts) != 3 || !s.Since.Equal(now) {
		t.Fatalf("summary %+v", s)
	}
	if s.Counts[0].Count != 5 || s.Counts[0].Key != "AKIAONE" {
		t.Fatalf("the most frequent failure is not first: %+v", s.Counts)
	}
	for _, c := range s.Counts {
		if len(c.Key) > maxField || !utf8.ValidString(c.Key) {
			t.Fatalf("a claimed key kept as %d bytes (valid UTF-8: %v)", len(c.Key), utf8.ValidString(c.Key))
		}
	}
	if s := tl.Take(); s.Total != 0 || len(s.Counts) != 0 || s.Overflow != 0 {
		t.Fatalf("Take did not start afresh: %+v", s)
	}
}
