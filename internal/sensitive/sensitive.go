package sensitive

// Bytes is a secret written as base64, as encoding/json writes a []byte.
type Bytes []byte

// String is a secret written as a JSON string: a secret access key.
type String []byte

// MaxJSONLen is the most bytes AppendJSON adds for s: every byte escaped
// as \u00XX, and the two quotes.
func (s String) MaxJSONLen() int { return 6*len(s) + 2 }

// MarshalJSON writes s as AppendJSON does, so that encoding/json, which
// calls it, writes what awsjson.Marshal writes.
func (s String) MarshalJSON() ([]byte, error) {
	return s.AppendJSON(make([]byte, 0, s.MaxJSONLen())), nil
}

// AppendJSON quotes s onto b without handing it to encoding/json, whose
// pooled buffers would keep a copy: printable ASCII as is but for the
// characters encoding/json escapes (quote, backslash, and for HTML <, >
// and &), which are written as \u00XX, as is everything else. b must
// have room for MaxJSONLen more bytes: growing it here would leave a copy
// of what it holds in the buffer left behind.
func (s String) AppendJSON(b []byte) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for _, c := range s {
		if c < 0x20 || c > 0x7e || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&15])
			continue
		}
		b = append(b, c)
	}
	return append(b, '"')
}
