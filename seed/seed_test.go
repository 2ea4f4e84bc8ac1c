package seed

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"
)

func TestParseExample(t *testing.T) {
	b, err := os.ReadFile("testdata/keys.yaml")
	if err != nil {
		t.Fatal(err)
	}
	f, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Keys) != 3 {
		t.Fatalf("%d keys, want 3", len(f.Keys))
	}
	k := f.Keys[0]
	want := make([]byte, 32)
	for i := range want {
		want[i] = byte(i)
	}
	if k.KeyId != "11111111-2222-4333-8444-555555555555" || !bytes.Equal(k.Material, want) ||
		len(k.Aliases) != 2 || len(k.Tags) != 1 || k.Tags[0] != (Tag{"env", "test"}) || *k.Description != "fixed symmetric key for tests" {
		t.Fatalf("first key parsed as %+v", k)
	}
	if f.Keys[1].Material != nil || *f.Keys[1].KeySpec != "HMAC_256" || f.Keys[1].Policy != nil {
		t.Fatalf("second key parsed as %+v", f.Keys[1])
	}
	var p map[string]any
	if err := json.Unmarshal([]byte(*f.Keys[2].Policy), &p); err != nil || p["Version"] != "2012-10-17" {
		t.Fatalf("a policy given as a mapping becomes JSON text: %v, %v", *f.Keys[2].Policy, err)
	}
}

// TestParseJSON: the same file in JSON, with the policy as a string.
func TestParseJSON(t *testing.T) {
	f, err := Parse([]byte(`{"Keys": [{"KeyId": "11111111-2222-4333-8444-555555555555", "Aliases": ["alias/a"],
		"Policy": "{\"Version\":\"2012-10-17\",\"Statement\":[]}"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if *f.Keys[0].Policy != `{"Version":"2012-10-17","Statement":[]}` {
		t.Fatalf("policy %q", *f.Keys[0].Policy)
	}
}

// TestParseRefusals: every bad file is refused with an error naming the
// entry (and what is wrong), and never quoting key material.
func TestParseRefusals(t *testing.T) {
	const id = "11111111-2222-4333-8444-555555555555"
	for _, c := range []struct{ body, want string }{
		{``, "empty"},
		{`Keys: [{KeyId: ` + id + `, Colour: red}]`, "Colour"},
		{`Keys: [{Description: x}]`, "Keys[0]: KeyId is required"},
		{`Keys: [{KeyId: 11111111-2222-4333-8444-55555555555Z}]`, "Keys[0]"},
		{`Keys: [{KeyId: 11111111-2222-4333-8444-5555555555AA}]`, "lower-case UUID"},
		{`Keys: [{KeyId: ` + id + `}, {KeyId: ` + id + `}]`, "Keys[1] (KeyId \"" + id + "\"): KeyId is also that of Keys[0]"},
		{`Keys: [{KeyId: ` + id + `, Aliases: [a]}]`, "alias \"a\""},
		{`Keys: [{KeyId: ` + id + `, Aliases: [alias/aws/x]}]`, "alias/aws/"},
		{`Keys: [{KeyId: ` + id + `, Aliases: [alias/x]}, {KeyId: 21111111-2222-4333-8444-555555555555, Aliases: [alias/x]}]`, "Keys[1]"},
		{`Keys: [{KeyId: ` + id + `, Material: "c2VjcmV0LW1hdGVyaWFs!!"}]`, "Material is not standard base64"},
		{`Keys: [{KeyId: ` + id + `, Policy: [1]}]`, "the Policy must be"},
		{"Keys: []\n---\nKeys: []\n", "more than one"},
		{`Keys: {KeyId: ` + id + `}`, "seed file"},
	} {
		_, err := Parse([]byte(c.body))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error containing %q", c.body, err, c.want)
		}
		if err != nil && strings.Contains(err.Error(), "c2VjcmV0") {
			t.Errorf("%s: the error quotes the material: %v", c.body, err)
		}
	}
	if _, err := Parse(bytes.Repeat([]byte(" "), MaxSize+1)); err == nil {
		t.Error("a file over MaxSize taken")
	}
}

// FuzzParse: no input panics, and whatever Parse takes holds the promises
// the server relies on (canonical ids, no duplicate ids or aliases).
func FuzzParse(f *testing.F) {
	if b, err := os.ReadFile("testdata/keys.yaml"); err == nil {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := Parse(data)
		if err != nil {
			return
		}
		ids, aliases := map[string]bool{}, map[string]bool{}
		for _, k := range file.Keys {
			if len(k.KeyId) != 36 || strings.ToLower(k.KeyId) != k.KeyId || ids[k.KeyId] {
				t.Fatalf("taken id %q", k.KeyId)
			}
			ids[k.KeyId] = true
			for _, a := range k.Aliases {
				if !strings.HasPrefix(a, "alias/") || aliases[a] {
					t.Fatalf("taken alias %q", a)
				}
				aliases[a] = true
			}
		}
	})
}
