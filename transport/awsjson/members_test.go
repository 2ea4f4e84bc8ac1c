package awsjson

import (
	"bytes"
	"encoding/json"
	"testing"
	"unicode/utf8"
)

type member struct{ name, value string }

func members(body []byte) ([]member, bool) {
	var out []member
	ok := Members(body, func(name, value []byte) bool {
		out = append(out, member{string(name), string(value)})
		return true
	})
	return out, ok
}

func TestMembers(t *testing.T) {
	for _, tc := range []struct {
		body string
		want []member
		ok   bool
	}{
		{`{}`, nil, true},
		{` { } `, nil, true},
		{`{"KeyId":"alias/x","Plaintext":"aGk=","EncryptionContext":{"a":"b"},"GrantTokens":["t"],"DryRun":false,"N":1.5e3}`,
			[]member{{"KeyId", `"alias/x"`}, {"Plaintext", `"aGk="`}, {"EncryptionContext", `{"a":"b"}`}, {"GrantTokens", `["t"]`}, {"DryRun", "false"}, {"N", "1.5e3"}}, true},
		{"{\n\t\"A\" : null ,\r\"B\":[{\"x\":\"]}\"}]}", []member{{"A", "null"}, {"B", `[{"x":"]}"}]`}}, true},
		{`{"A":"a\"b"}`, []member{{"A", `"a\"b"`}}, true},
		{`{"A\u0041":1}`, nil, false}, // escaped name: encoding/json decides
		{`{"Ä":1}`, nil, false},       // non-ASCII name: encoding/json case-folds it
		{`{"A":1,}`, nil, false},
		{`{"A":1} x`, nil, false},
		{`{"A":tru}`, nil, false},
		{`{"A":"x`, nil, false},
		{"{\"A\":\"a\x01\"}", nil, false},
		{`{"A":"\q"}`, nil, false},
		{`{"A":{"b":}}`, nil, false},
		{`{"A":[1,2}`, nil, false},
		{`[1]`, nil, false},
		{``, nil, false},
		{`{"A" 1}`, nil, false},
		{`{"A":01}`, nil, false},
	} {
		got, ok := members([]byte(tc.body))
		if ok != tc.ok || (ok && !equalMembers(got, tc.want)) {
			t.Errorf("Members(%q) = %v, %v; want %v, %v", tc.body, got, ok, tc.want, tc.ok)
		}
	}
}

func equalMembers(a, b []member) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// FuzzMembers holds Members to encoding/json: whatever it accepts is valid
// JSON with the same members, and it accepts every plain object.
func FuzzMembers(f *testing.F) {
	for _, s := range []string{
		`{}`, `{"KeyId":"k","Plaintext":"aGVsbG8=","EncryptionContext":{"a":"b"},"GrantTokens":["g"]}`,
		`{"A":[{"b":"]"},1,-2.5e+3,true,null]}`, `{"A":"\u00e9\n"}`, `{"A":1`, `{"A\u0041":1}`, ` {"A" : "x" } `,
		`{"A":{"B":{"C":[]}}}`, `{"A":"x","A":"y"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		got, ok := members(body)
		if !ok {
			trimmed := bytes.TrimSpace(body)
			plain := !bytes.ContainsRune(body, '\\') && !hasHigh(body)
			if plain && len(trimmed) > 0 && trimmed[0] == '{' && json.Valid(body) {
				t.Fatalf("refused a plain valid object %q", body)
			}
			return
		}
		if !json.Valid(body) {
			t.Fatalf("accepted invalid JSON %q", body)
		}
		var want map[string]json.RawMessage
		if err := json.Unmarshal(body, &want); err != nil {
			t.Fatalf("accepted %q that encoding/json cannot read as an object: %v", body, err)
		}
		last := map[string]string{}
		for _, m := range got {
			last[m.name] = m.value
		}
		if len(last) != len(want) {
			t.Fatalf("%q: members %v, encoding/json %v", body, got, want)
		}
		for k, v := range want {
			if last[k] != string(v) {
				t.Fatalf("%q: member %q is %q, encoding/json says %q", body, k, last[k], v)
			}
		}
		for _, m := range got {
			if s, ok := StringValue([]byte(m.value)); ok && utf8.Valid(s) {
				var u string
				if err := json.Unmarshal([]byte(m.value), &u); err != nil || u != string(s) {
					t.Fatalf("StringValue(%q) = %q, encoding/json %q (%v)", m.value, s, u, err)
				}
			}
		}
	})
}

func hasHigh(b []byte) bool {
	for _, c := range b {
		if c >= 0x80 {
			return true
		}
	}
	return false
}
