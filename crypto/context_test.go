package crypto

import (
	"bytes"
	"testing"
)

func TestCanonicalContext(t *testing.T) {
	if !bytes.Equal(CanonicalContext(nil), CanonicalContext(map[string]string{})) {
		t.Fatal("nil and empty contexts must encode the same")
	}
	if len(CanonicalContext(nil)) != 0 {
		t.Fatal("empty context must encode to zero bytes")
	}
	want := []byte("\x00\x00\x00\x01a\x00\x00\x00\x011\x00\x00\x00\x01b\x00\x00\x00\x00")
	if got := CanonicalContext(map[string]string{"b": "", "a": "1"}); !bytes.Equal(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
	// Pairs that a naive concatenation would confuse must differ.
	distinct := []map[string]string{
		nil,
		{"": ""},
		{"a": "bc"},
		{"ab": "c"},
		{"abc": ""},
		{"a": "b", "c": ""},
		{"A": "bc"},
		{"a": "bC"},
		{"a": "b\x00\x00\x00\x01c"},
		{"a": "b", "\x00\x00\x00\x01c": ""},
	}
	seen := map[string]int{}
	for i, m := range distinct {
		enc := string(CanonicalContext(m))
		if j, ok := seen[enc]; ok {
			t.Fatalf("contexts %d %v and %d %v encode the same", j, distinct[j], i, m)
		}
		seen[enc] = i
	}
}
