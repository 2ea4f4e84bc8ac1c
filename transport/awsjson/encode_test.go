package awsjson

import (
	"bytes"
	"encoding/json"
	"math"
	"testing"
)

func TestMarshalAnswers(t *testing.T) {
	for _, v := range []any{
		map[string]any{"CiphertextBlob": []byte("hello"), "KeyId": "arn:aws:kms:us-east-1:1:key/k", "EncryptionAlgorithm": "SYMMETRIC_DEFAULT"},
		map[string]any{"Plaintext": []byte{}, "Nil": []byte(nil), "B": true, "F": false, "N": 1.5, "I": int32(7), "X": nil},
		map[string]any{"KeyMetadata": map[string]any{"Arn": "a<b>&\"c\"\u2028é\x01", "Enabled": true}, "List": []string{"a"}},
		map[string]any(nil), "plain", []byte("x"), struct{ A int }{1},
	} {
		got, err := Marshal(v)
		want, werr := json.Marshal(v)
		if err != nil || werr != nil || !bytes.Equal(got, want) {
			t.Errorf("Marshal(%v) = %s, %v; json.Marshal: %s, %v", v, got, err, want, werr)
		}
	}
	if _, err := Marshal(map[string]any{"C": make(chan int)}); err == nil {
		t.Error("a value json.Marshal refuses was encoded")
	}
}

// FuzzMarshal: answers built from fuzzed strings and bytes encode exactly as
// json.Marshal encodes them.
func FuzzMarshal(f *testing.F) {
	f.Add("KeyId", "arn:aws:kms:us-east-1:111122223333:key/k", []byte("ciphertext"), 1.0, true)
	f.Add("K<&>", "\"\\\x00\xff\u2028", []byte{}, math.Copysign(0, -1), false)
	f.Fuzz(func(t *testing.T, k, s string, blob []byte, n float64, flag bool) {
		v := map[string]any{k: s, k + "Blob": blob, "Nested": map[string]any{s: k, "N": n}, "Flag": flag, "Raw": json.RawMessage(`{"a":1}`)}
		got, err := Marshal(v)
		want, werr := json.Marshal(v)
		if (err == nil) != (werr == nil) || !bytes.Equal(got, want) {
			t.Fatalf("Marshal = %s, %v; json.Marshal: %s, %v", got, err, want, werr)
		}
	})
}
