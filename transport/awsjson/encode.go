package awsjson

import (
	"encoding/base64"
	"encoding/json"
	"slices"

	"github.com/keyraft/keyraft/internal/sensitive"
)

// Marshal encodes an answer exactly as json.Marshal does. Answers are maps
// of a few names to strings and one large byte slice (a ciphertext, a data
// key); those are written here directly, where json.Marshal goes through
// reflection and copies the base64 text once more. Anything else is left
// to json.Marshal, value by value (FuzzMarshal holds the two equal).
//
// The answer is built in one buffer that, when it must grow, is copied and
// the old one zeroed, so that an answer carrying a secret (package
// internal/secret) leaves exactly one copy of it, which WriteResult zeroes
// once written.
func Marshal(v any) ([]byte, error) {
	return appendValue(make([]byte, 0, 256), v)
}

// sizeHint is about the length Marshal(v) will have, so that the answer
// is written in one buffer: exact for the members answers carry (names,
// plain strings, blobs, secrets, booleans), a guess for anything else.
func sizeHint(v any) int {
	switch v := v.(type) {
	case map[string]any:
		n := 2 // the braces; each member "k":v and a comma but the last
		for k, m := range v {
			n += len(k) + 4 + sizeHint(m)
		}
		return n - min(len(v), 1)
	case string:
		return len(v) + 2
	case []byte:
		return base64.StdEncoding.EncodedLen(len(v)) + 2
	case sensitive.Bytes:
		return base64.StdEncoding.EncodedLen(len(v)) + 2
	case sensitive.String:
		return v.MaxJSONLen()
	}
	return 64
}

// reserve returns b with room for n more bytes. When that takes a new
// buffer, the old one is zeroed: it may hold a secret already written.
func reserve(b []byte, n int) []byte {
	if cap(b)-len(b) >= n {
		return b
	}
	nb := make([]byte, len(b), max(2*cap(b), len(b)+n))
	copy(nb, b)
	clear(b)
	return nb
}

// put appends s, growing b with reserve.
func put[T ~string | ~[]byte](b []byte, s T) []byte { return append(reserve(b, len(s)), s...) }

func appendValue(b []byte, v any) ([]byte, error) {
	switch v := v.(type) {
	case map[string]any:
		if v == nil {
			return put(b, "null"), nil
		}
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		b = put(b, "{")
		for i, k := range keys {
			if i > 0 {
				b = put(b, ",")
			}
			b = appendString(b, k)
			b = put(b, ":")
			var err error
			if b, err = appendValue(b, v[k]); err != nil {
				return nil, err
			}
		}
		return put(b, "}"), nil
	case string:
		return appendString(b, v), nil
	case []byte:
		return appendBytes(b, v), nil
	case sensitive.Bytes:
		return appendBytes(b, v), nil
	case sensitive.String:
		return v.AppendJSON(reserve(b, v.MaxJSONLen())), nil // nil too: json.Marshal calls MarshalJSON
	case bool:
		if v {
			return put(b, "true"), nil
		}
		return put(b, "false"), nil
	case nil:
		return put(b, "null"), nil
	}
	enc, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return put(b, enc), nil
}

// appendBytes writes v as json.Marshal writes a []byte: base64, or null.
func appendBytes(b, v []byte) []byte {
	if v == nil {
		return put(b, "null")
	}
	b = reserve(b, base64.StdEncoding.EncodedLen(len(v))+2)
	b = append(b, '"')
	b = base64.StdEncoding.AppendEncode(b, v)
	return append(b, '"')
}

// AppendValue appends v as json.Marshal writes it: answers' and audit
// events' maps of members through the fast paths above.
func AppendValue(b []byte, v any) ([]byte, error) { return appendValue(b, v) }

// AppendString appends s quoted as json.Marshal quotes it.
func AppendString(b []byte, s string) []byte { return appendString(b, s) }

// appendString quotes s. Printable ASCII that json.Marshal writes as is
// (it escapes quotes, backslashes and, for HTML, <, > and &) is copied;
// anything else is json.Marshal's to write.
func appendString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c > 0x7e || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			enc, _ := json.Marshal(s) // a string always encodes
			return put(b, enc)
		}
	}
	b = reserve(b, len(s)+2)
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}
