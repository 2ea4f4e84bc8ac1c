package sensitive

import (
	"encoding/json"
	"testing"
)

// FuzzAppendJSON: AppendJSON writes a JSON string that decodes to s (bytes
// over 0x7f are escaped one by one, so they decode as U+00XX) and never
// needs more than MaxJSONLen bytes, so a buffer reserved for it is never
// grown (and copied) while it holds the secret.
func FuzzAppendJSON(f *testing.F) {
	f.Add([]byte("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"))
	f.Add([]byte("a<\"\\\x01\xff&>"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		s := String(b)
		buf := make([]byte, 0, s.MaxJSONLen())
		out := s.AppendJSON(buf)
		if cap(out) != cap(buf) || &out[:1][0] != &buf[:1][0] {
			t.Fatalf("AppendJSON grew its buffer for %q", b)
		}
		var got string
		if err := json.Unmarshal(out, &got); err != nil {
			t.Fatalf("%s is not a JSON string: %v", out, err)
		}
		want := make([]rune, len(b))
		for i, c := range b {
			want[i] = rune(c)
		}
		if got != string(want) {
			t.Fatalf("%s decodes to %q, want %q", out, got, string(want))
		}
		if m, err := s.MarshalJSON(); err != nil || string(m) != string(out) {
			t.Fatalf("MarshalJSON = %s, %v; AppendJSON: %s", m, err, out)
		}
	})
}
