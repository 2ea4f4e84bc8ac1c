package fsm

import "unicode/utf8"

// scanUsageEvent reads the members usage needs from one audit event, as
// json.Unmarshal into usageEvent would read them with exact member names,
// without decoding the rest: it walks the top-level object, skipping every
// other value (request parameters, response elements, identity) by its
// brackets and quotes. On a busy node every event of every batch passes
// here, on every replica, and decoding each in full cost several times
// the CPU (BenchmarkNoteUsage).
//
// ok is false when the event is anything but the plain shape the gateway
// writes (audit.Event through encoding/json): a wanted member that is not
// a string, holds an escape or invalid UTF-8, an escaped member name, a
// malformed object. Such an event notes nothing. FuzzScanUsageEvent holds
// it to encoding/json's reading of every valid JSON it accepts.
func scanUsageEvent(b []byte) (ev usageEvent, ok bool) {
	s := scanner{b: b}
	s.ws()
	if !s.eat('{') {
		return ev, false
	}
	s.ws()
	if s.eat('}') {
		return ev, s.end()
	}
	for {
		s.ws()
		key, ok := s.plainString()
		if !ok {
			return ev, false
		}
		s.ws()
		if !s.eat(':') {
			return ev, false
		}
		s.ws()
		var dst *string
		switch string(key) {
		case "eventSource":
			dst = &ev.EventSource
		case "eventTime":
			dst = &ev.EventTime
		case "eventName":
			dst = &ev.EventName
		case "errorCode":
			dst = &ev.ErrorCode
		case "requestID":
			dst = &ev.RequestID
		case "eventID":
			dst = &ev.EventID
		case "resources":
			if ev.Resources, ok = s.resources(); !ok {
				return ev, false
			}
		default:
			if !s.skipValue(0) {
				return ev, false
			}
		}
		if dst != nil {
			v, ok := s.plainString()
			if !ok {
				return ev, false
			}
			*dst = string(v)
		}
		s.ws()
		if s.eat('}') {
			return ev, s.end()
		}
		if !s.eat(',') {
			return ev, false
		}
	}
}

type scanner struct {
	b []byte
	i int
}

func (s *scanner) ws() {
	for s.i < len(s.b) && (s.b[s.i] == ' ' || s.b[s.i] == '\t' || s.b[s.i] == '\n' || s.b[s.i] == '\r') {
		s.i++
	}
}

func (s *scanner) eat(c byte) bool {
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	return false
}

// end reports whether nothing but whitespace follows.
func (s *scanner) end() bool {
	s.ws()
	return s.i == len(s.b)
}

// plainString reads a string without escapes or control characters, in
// valid UTF-8: the only kind whose bytes are its value.
func (s *scanner) plainString() ([]byte, bool) {
	if !s.eat('"') {
		return nil, false
	}
	start := s.i
	for s.i < len(s.b) {
		switch c := s.b[s.i]; {
		case c == '"':
			v := s.b[start:s.i]
			s.i++
			return v, utf8.Valid(v)
		case c == '\\' || c < 0x20:
			return nil, false
		}
		s.i++
	}
	return nil, false
}

// null reads a JSON null, which json.Unmarshal takes as "no value".
func (s *scanner) null() bool {
	if len(s.b)-s.i >= 4 && string(s.b[s.i:s.i+4]) == "null" {
		s.i += 4
		return true
	}
	return false
}

type usageResource = struct {
	ARN string `json:"ARN"`
}

// resources reads the array of resources, keeping each one's ARN.
func (s *scanner) resources() ([]usageResource, bool) {
	if s.null() {
		return nil, true
	}
	if !s.eat('[') {
		return nil, false
	}
	out := []usageResource{}
	s.ws()
	if s.eat(']') {
		return out, true
	}
	for {
		s.ws()
		var r usageResource
		if !s.eat('{') {
			return nil, false
		}
		s.ws()
		if !s.eat('}') {
			for {
				s.ws()
				key, ok := s.plainString()
				if !ok {
					return nil, false
				}
				s.ws()
				if !s.eat(':') {
					return nil, false
				}
				s.ws()
				if string(key) == "ARN" {
					v, ok := s.plainString()
					if !ok {
						return nil, false
					}
					r.ARN = string(v)
				} else if !s.skipValue(0) {
					return nil, false
				}
				s.ws()
				if s.eat('}') {
					break
				}
				if !s.eat(',') {
					return nil, false
				}
			}
		}
		out = append(out, r)
		s.ws()
		if s.eat(']') {
			return out, true
		}
		if !s.eat(',') {
			return nil, false
		}
	}
}

// maxScanDepth bounds the nesting skipValue follows (encoding/json's own
// limit is 10,000; an event is a few levels deep).
const maxScanDepth = 64

// skipValue steps over one value of any kind.
func (s *scanner) skipValue(depth int) bool {
	if s.i >= len(s.b) || depth > maxScanDepth {
		return false
	}
	switch s.b[s.i] {
	case '"':
		s.i++
		for s.i < len(s.b) {
			switch s.b[s.i] {
			case '\\':
				s.i += 2
				continue
			case '"':
				s.i++
				return true
			}
			s.i++
		}
		return false
	case '{', '[':
		closing := byte('}')
		if s.b[s.i] == '[' {
			closing = ']'
		}
		s.i++
		s.ws()
		if s.eat(closing) {
			return true
		}
		for {
			s.ws()
			if closing == '}' {
				if !s.skipValue(depth + 1) { // the member's name
					return false
				}
				s.ws()
				if !s.eat(':') {
					return false
				}
				s.ws()
			}
			if !s.skipValue(depth + 1) {
				return false
			}
			s.ws()
			if s.eat(closing) {
				return true
			}
			if !s.eat(',') {
				return false
			}
		}
	}
	// A number or a literal: up to the next delimiter.
	start := s.i
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ',', '}', ']', ' ', '\t', '\n', '\r':
			return s.i > start
		}
		s.i++
	}
	return s.i > start
}
