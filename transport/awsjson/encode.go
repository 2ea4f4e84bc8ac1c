package awsjson

import (
	"encoding/base64"
	"encoding/json"
	"slices"
)

// Marshal encodes an answer exactly as json.Marshal does. Answers are maps
// of a few names to strings and one large byte slice (a ciphertext, a data
// key); those are written here directly, where json.Marshal goes through
// reflection and copies the base64 text once more. Anything else is left
// to json.Marshal, value by value (FuzzMarshal holds the two equal).
func Marshal(v any) ([]byte, error) {
	return appendValue(make([]byte, 0, 256), v)
}

func appendValue(b []byte, v any) ([]byte, error) {
	switch v := v.(type) {
	case map[string]any:
		if v == nil {
			return append(b, "null"...), nil
		}
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		b = append(b, '{')
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, k)
			b = append(b, ':')
			var err error
			if b, err = appendValue(b, v[k]); err != nil {
				return nil, err
			}
		}
		return append(b, '}'), nil
	case string:
		return appendString(b, v), nil
	case []byte:
		if v == nil {
			return append(b, "null"...), nil
		}
		b = append(b, '"')
		b = base64.StdEncoding.AppendEncode(b, v)
		return append(b, '"'), nil
	case bool:
		if v {
			return append(b, "true"...), nil
		}
		return append(b, "false"...), nil
	case nil:
		return append(b, "null"...), nil
	}
	enc, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return append(b, enc...), nil
}

// appendString quotes s. Printable ASCII that json.Marshal writes as is
// (it escapes quotes, backslashes and, for HTML, <, > and &) is copied;
// anything else is json.Marshal's to write.
func appendString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c > 0x7e || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			enc, _ := json.Marshal(s) // a string always encodes
			return append(b, enc...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}
