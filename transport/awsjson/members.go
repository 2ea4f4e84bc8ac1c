package awsjson

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
)

// Members calls fn with each member of the JSON object in body, in order:
// the member's name and the raw bytes of its value. It exists because a KMS
// request is a handful of small members and one large base64 string: the
// string's bytes can be checked with a fast scan and handed over untouched,
// where encoding/json validates the whole body, then scans and unquotes the
// string again, one byte at a time.
//
// It returns true only if body is valid JSON (as json.Valid) and every
// member was passed to fn. It returns false, possibly after calling fn for
// some members, when body is not valid JSON, when a member's name holds an
// escape sequence or a non-ASCII byte (encoding/json would unescape or
// case-fold it), or when fn returns false. Callers then fall back to
// encoding/json, which gives the exact error.
func Members(body []byte, fn func(name, value []byte) bool) bool {
	i := skipSpace(body, 0)
	if i >= len(body) || body[i] != '{' {
		return false
	}
	i = skipSpace(body, i+1)
	if i < len(body) && body[i] == '}' {
		return skipSpace(body, i+1) == len(body)
	}
	for {
		if i >= len(body) || body[i] != '"' {
			return false
		}
		end, plain := scanString(body, i)
		if end < 0 || !plain {
			return false
		}
		name := body[i+1 : end-1]
		for _, c := range name {
			if c >= 0x80 {
				return false
			}
		}
		i = skipSpace(body, end)
		if i >= len(body) || body[i] != ':' {
			return false
		}
		i = skipSpace(body, i+1)
		end = scanValue(body, i)
		if end < 0 || !fn(name, body[i:end]) {
			return false
		}
		i = skipSpace(body, end)
		if i >= len(body) {
			return false
		}
		switch body[i] {
		case ',':
			i = skipSpace(body, i+1)
		case '}':
			return skipSpace(body, i+1) == len(body)
		default:
			return false
		}
	}
}

// StringValue returns the contents of a raw JSON string value that holds
// no escape sequences, and false for anything else (escapes, other types).
func StringValue(raw []byte) ([]byte, bool) {
	if len(raw) < 2 || raw[0] != '"' {
		return nil, false
	}
	end, plain := scanString(raw, 0)
	if end != len(raw) || !plain {
		return nil, false
	}
	return raw[1 : len(raw)-1], true
}

func skipSpace(b []byte, i int) int {
	for i < len(b) {
		switch b[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// scanString checks the JSON string starting at b[i] (a quote) and returns
// the index just past its closing quote, or -1 if it is not a valid string;
// plain reports that it holds no escape sequences.
func scanString(b []byte, i int) (end int, plain bool) {
	plain = true
	i++
	for {
		// The closing quote is usually far away (a 5 KiB base64 blob):
		// find it with IndexByte, then check what lies before it.
		q := bytes.IndexByte(b[i:], '"')
		if q < 0 {
			return -1, false
		}
		seg := b[i : i+q]
		bs := bytes.IndexByte(seg, '\\')
		if bs < 0 {
			if hasControl(seg) {
				return -1, false
			}
			return i + q + 1, plain
		}
		plain = false
		if hasControl(seg[:bs]) {
			return -1, false
		}
		i += bs
		n := escapeLen(b[i:])
		if n == 0 {
			return -1, false
		}
		i += n
	}
}

// hasControl reports a byte below 0x20, eight bytes at a time: a base64
// blob is thousands of bytes long.
func hasControl(b []byte) bool {
	const highs, spaces = 0x8080808080808080, 0x20 * 0x0101010101010101
	for len(b) >= 8 {
		w := binary.LittleEndian.Uint64(b)
		// A byte below 0x20 borrows into its high bit when 0x20 is taken
		// from it; ^w excludes bytes that had the high bit already.
		if (w-spaces)&^w&highs != 0 {
			return true
		}
		b = b[8:]
	}
	for _, c := range b {
		if c < 0x20 {
			return true
		}
	}
	return false
}

// escapeLen is the length of the escape sequence at the start of b, or 0
// if it is not a valid one.
func escapeLen(b []byte) int {
	if len(b) < 2 {
		return 0
	}
	switch b[1] {
	case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
		return 2
	case 'u':
		r, ok := hex4(b)
		switch {
		case !ok:
			return 0
		case r >= 0xDC00 && r <= 0xDFFF:
			return 0 // a low surrogate alone
		case r >= 0xD800 && r <= 0xDBFF:
			// A high surrogate must be followed by a low one. Alone,
			// encoding/json would read it as U+FFFD, so two requests
			// with different bytes would name the same encryption
			// context; AWS refuses such a string (not UTF-16).
			if len(b) < 12 || b[6] != '\\' || b[7] != 'u' {
				return 0
			}
			if lo, ok := hex4(b[6:]); !ok || lo < 0xDC00 || lo > 0xDFFF {
				return 0
			}
			return 12
		}
		return 6
	}
	return 0
}

// hex4 reads the four hex digits of the \uXXXX escape at the start of b.
func hex4(b []byte) (rune, bool) {
	if len(b) < 6 {
		return 0, false
	}
	var r rune
	for _, c := range b[2:6] {
		var d byte
		switch {
		case '0' <= c && c <= '9':
			d = c - '0'
		case 'a' <= c && c <= 'f':
			d = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			d = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(d)
	}
	return r, true
}

// scanValue returns the index just past the JSON value starting at b[i],
// or -1 if there is none or it is invalid.
func scanValue(b []byte, i int) int {
	if i >= len(b) {
		return -1
	}
	if b[i] == '"' {
		end, _ := scanString(b, i)
		return end
	}
	end := i
	switch b[i] {
	case '{', '[':
		// Find the matching bracket, stepping over strings, then let
		// encoding/json judge the (small) nested value.
		depth := 0
		for end < len(b) {
			switch b[end] {
			case '"':
				e, _ := scanString(b, end)
				if e < 0 {
					return -1
				}
				end = e
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
			}
			end++
			if depth == 0 {
				break
			}
		}
		if depth != 0 {
			return -1
		}
	default:
		// A number or a literal runs to the next delimiter.
		for end < len(b) {
			c := b[end]
			if c == ',' || c == '}' || c == ']' || c == ' ' || c == '\t' || c == '\n' || c == '\r' {
				break
			}
			end++
		}
	}
	if end == i || !json.Valid(b[i:end]) {
		return -1
	}
	return end
}
