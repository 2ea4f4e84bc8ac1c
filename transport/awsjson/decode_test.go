package awsjson

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

type testConstraints struct {
	EncryptionContextEquals map[string]string `json:",omitempty"`
	EncryptionContextSubset map[string]string
}

type testTag struct {
	TagKey   string
	TagValue string
}

// testRequest has every kind of member the KMS and IAM requests have.
type testRequest struct {
	KeyId             string
	Plaintext         []byte
	EncryptionContext map[string]string
	GrantTokens       []string
	Description       *string
	NumberOfBytes     *int32
	DryRun            bool
	Constraints       *testConstraints
	Tags              []testTag
	Recipient         any
	Renamed           string `json:"Other"`
}

func TestDecodeIsCaseSensitive(t *testing.T) {
	for _, tc := range []struct {
		body string
		want testRequest
	}{
		{``, testRequest{}},
		{` { } `, testRequest{}},
		{`{"KeyId":"A","keyid":"B","KEYID":"C"}`, testRequest{KeyId: "A"}},
		{`{"keyId":"B","KeyId":"A"}`, testRequest{KeyId: "A"}},
		{`{"plaintext":"aGk=","KeyId":"k"}`, testRequest{KeyId: "k"}},
		{`{"Plaintext":"aGk=","K\u0065yId":"k"}`, testRequest{KeyId: "k", Plaintext: []byte("hi")}},
		{`{"Constraints":{"encryptionContextEquals":{"a":"b"},"EncryptionContextSubset":{"A":"B","a":"b"}}}`,
			testRequest{Constraints: &testConstraints{EncryptionContextSubset: map[string]string{"A": "B", "a": "b"}}}},
		{`{"Tags":[{"TagKey":"k","tagvalue":"v"}],"Other":"o","Renamed":"r"}`, testRequest{Tags: []testTag{{TagKey: "k"}}, Renamed: "o"}},
		{`{"KeyId":"caf\u00e9","Description":null,"NumberOfBytes":32,"Recipient":{"x":[1]},"Unknown":{"a":[true,null]}}`,
			testRequest{KeyId: "café", NumberOfBytes: ptr(int32(32)), Recipient: map[string]any{"x": []any{1.0}}}},
	} {
		var got testRequest
		if e := Decode([]byte(tc.body), &got); e != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("Decode(%s) = %+v, %v; want %+v", tc.body, got, e, tc.want)
		}
	}
}

func ptr[T any](v T) *T { return &v }

func TestDecodeRefuses(t *testing.T) {
	for _, tc := range []struct{ body, member, msg string }{
		{`[]`, "", "Start of structure"},
		{`"x"`, "", "Start of structure"},
		{`{"KeyId":"a","KeyId":"b"}`, "KeyId", "more than once"},
		{`{"EncryptionContext":{"a":"1","a":"2"}}`, "EncryptionContext", "more than once"},
		{"{\"KeyId\":\"\xff\"}", "", "UTF-8"},
		{"{\"Unknown\":\"\xc3\x28\"}", "", "UTF-8"},
		{"{\"EncryptionContext\":{\"k\":\"\xed\xa0\x80\"}}", "", "UTF-8"},
		{`{"KeyId":1}`, "KeyId", "Invalid value"},
		{`{"Plaintext":"!!"}`, "Plaintext", "Invalid value"},
		{`{"NumberOfBytes":1e10}`, "NumberOfBytes", "Invalid value"},
		{`{"Tags":{"TagKey":"k"}}`, "Tags", "Invalid value"},
		{`{"KeyId":"a"} {}`, "", "not valid JSON"},
		{`{"KeyId":"a",}`, "", "not valid JSON"},
		{`{"Unknown":[1,}`, "", "not valid JSON"},
		{`{"Recipient":{"a":}}`, "", "not valid JSON"},
	} {
		var got testRequest
		e := Decode([]byte(tc.body), &got)
		if e == nil || e.Member != tc.member || !strings.Contains(e.Message, tc.msg) {
			t.Errorf("Decode(%q) = %+v, want an error about %q containing %q", tc.body, e, tc.member, tc.msg)
		}
	}
}

// foldCollision reports whether body holds an object member name that
// encoding/json would read differently from AWS: one that differs from a
// known member only in case (or is not ASCII, which encoding/json folds
// too), or one named twice in the same object.
func foldCollision(body []byte) bool {
	known := map[string]bool{}
	for _, typ := range []reflect.Type{reflect.TypeFor[testRequest](), reflect.TypeFor[testConstraints](), reflect.TypeFor[testTag]()} {
		for name := range fieldsOf(typ).index {
			known[name] = true
		}
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	type frame struct {
		obj   bool
		names map[string]bool
		key   bool // the next token is a name
	}
	var stack []*frame
	for {
		tok, err := dec.Token()
		if err != nil {
			return false
		}
		top := (*frame)(nil)
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if top != nil && top.obj && top.key {
			if d, ok := tok.(json.Delim); ok && d == '}' {
				stack = stack[:len(stack)-1]
				continue
			}
			name := tok.(string)
			if top.names[name] {
				return true
			}
			top.names[name] = true
			for k := range known {
				if k != name && strings.EqualFold(k, name) {
					return true
				}
			}
			for _, c := range []byte(name) {
				if c >= 0x80 {
					return true
				}
			}
			top.key = false
			continue
		}
		if top != nil && top.obj {
			top.key = true
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, &frame{obj: true, names: map[string]bool{}, key: true})
		case json.Delim('['):
			stack = append(stack, &frame{})
		case json.Delim(']'):
			stack = stack[:len(stack)-1]
		}
	}
}

// FuzzDecode: Decode never panics, reads every body encoding/json reads
// the same way (valid UTF-8, no member names that fold together) exactly
// as encoding/json does, and refuses what encoding/json refuses.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		`{}`, ``, `null`, `{"KeyId":"alias/a","Plaintext":"aGVsbG8=","EncryptionContext":{"k":"v"},"GrantTokens":["g"],"DryRun":true}`,
		`{"KeyId":"A","keyid":"B"}`, `{"plaintext":"aGk="}`, `{"KeyId":"k","NumberOfBytes":1e10}`, `{"Plaintext":"aGVsbG8"}`,
		`{"KeyId":"\u00e9"}`, "{\"KeyId\":\"\xff\"}", `{"Tags":[{"TagKey":"a","TagValue":"b"}],"KeyId":"k"}`,
		`{"Constraints":{"EncryptionContextEquals":{"a":"b"}},"GrantTokens":["Decrypt"]}`, `{"KeyId":1}`,
		`{"Recipient":{"a":[1,2,{"b":null}]},"Other":"x"}`, `{"KeyId":"a","KeyId":"b"}`, `{"Description":"\ud800"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var got, want testRequest
		e := Decode(body, &got)
		if e != nil {
			if e.Message == "" {
				t.Fatalf("%q: an error without a message", body)
			}
			if e.Member != "" && !strings.Contains(e.Message, e.Member) {
				t.Fatalf("%q: error %q does not name %q", body, e.Message, e.Member)
			}
		}
		if !utf8.Valid(body) {
			if e == nil {
				t.Fatalf("%q: Decode took a body that is not UTF-8", body)
			}
			return
		}
		trimmed := bytes.TrimSpace(body)
		if len(trimmed) == 0 || trimmed[0] != '{' || foldCollision(body) || bytes.ContainsRune(body, '\uFFFD') || !json.Valid(body) {
			if e == nil && len(trimmed) > 0 && !json.Valid(body) {
				t.Fatalf("%q: Decode took invalid JSON", body)
			}
			return
		}
		if loneSurrogate(body) {
			// encoding/json reads it as U+FFFD; Decode refuses it, so
			// that different bytes never make the same string.
			if e == nil {
				t.Fatalf("%q: Decode took a lone surrogate escape", body)
			}
			return
		}
		werr := json.Unmarshal(body, &want)
		if (e == nil) != (werr == nil) {
			t.Fatalf("%q: Decode %v, encoding/json %v", body, e, werr)
		}
		if e == nil && !reflect.DeepEqual(got, want) {
			t.Fatalf("%q: Decode %+v, encoding/json %+v", body, got, want)
		}
	})
}

// loneSurrogate reports a \uD800–\uDFFF escape that is not half of a
// high-then-low pair, outside escaped backslashes.
func loneSurrogate(body []byte) bool {
	hex := func(b []byte) (rune, bool) {
		if len(b) < 6 || b[0] != '\\' || b[1] != 'u' {
			return 0, false
		}
		v, err := strconv.ParseUint(string(b[2:6]), 16, 32)
		return rune(v), err == nil
	}
	for i := 0; i < len(body); i++ {
		if body[i] != '\\' || i+1 >= len(body) {
			continue
		}
		if body[i+1] != 'u' {
			i++ // an escaped character, a backslash among them
			continue
		}
		r, ok := hex(body[i:])
		if !ok {
			continue
		}
		switch {
		case r >= 0xDC00 && r <= 0xDFFF:
			return true
		case r >= 0xD800 && r <= 0xDBFF:
			lo, ok := hex(body[i+6:])
			if !ok || lo < 0xDC00 || lo > 0xDFFF {
				return true
			}
			i += 11
			continue
		}
		i += 5
	}
	return false
}

// TestSurrogates: a surrogate pair is one character; a half of one is
// refused rather than read as U+FFFD (issue 14 item 17: "acme\ud800" and
// "acme\udfff" would otherwise be the same encryption context).
func TestSurrogates(t *testing.T) {
	var req testRequest
	if e := Decode([]byte(`{"Description":"a\ud83d\ude00"}`), &req); e != nil || req.Description == nil || *req.Description != "a\U0001F600" {
		t.Fatalf("a surrogate pair: %v %v", e, req.Description)
	}
	for _, body := range []string{`{"Description":"acme\ud800"}`, `{"Description":"acme\udfff"}`,
		`{"Description":"\ud800\u0041"}`, `{"Description":"\ude00\ud83d"}`, `{"\ud800":"x"}`} {
		if e := Decode([]byte(body), &req); e == nil {
			t.Errorf("%s was decoded", body)
		}
	}
	req = testRequest{}
	if e := Decode([]byte(`{"Description":"\\ud800"}`), &req); e != nil || req.Description == nil || *req.Description != `\ud800` {
		t.Fatalf("an escaped backslash before ud800: %v %v", e, req.Description)
	}
}
