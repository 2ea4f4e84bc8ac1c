package awsjson

import (
	"bytes"
	"encoding/json"
	"math"
	"net/http/httptest"
	"testing"

	"github.com/keyraft/keyraft/internal/sensitive"
)

func TestMarshalAnswers(t *testing.T) {
	for _, v := range []any{
		map[string]any{"CiphertextBlob": []byte("hello"), "KeyId": "arn:aws:kms:us-east-1:1:key/k", "EncryptionAlgorithm": "SYMMETRIC_DEFAULT"},
		map[string]any{"Plaintext": []byte{}, "Nil": []byte(nil), "B": true, "F": false, "N": 1.5, "I": int32(7), "X": nil},
		map[string]any{"KeyMetadata": map[string]any{"Arn": "a<b>&\"c\"\u2028é\x01", "Enabled": true}, "List": []string{"a"}},
		map[string]any(nil), "plain", []byte("x"), struct{ A int }{1},
		map[string]any{"Plaintext": sensitive.Bytes("data key"), "AccessKey": map[string]any{"SecretAccessKey": sensitive.String("wJalr/K7+MDENG")}},
		map[string]any{"S": sensitive.String("a<\"\\\x01\xff"), "Nil": sensitive.Bytes(nil), "NilS": sensitive.String(nil)},
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
		v := map[string]any{k: s, k + "Blob": blob, "Nested": map[string]any{s: k, "N": n}, "Flag": flag, "Raw": json.RawMessage(`{"a":1}`),
			"Secret": sensitive.Bytes(blob), "SecretString": sensitive.String(s)}
		got, err := Marshal(v)
		want, werr := json.Marshal(v)
		if (err == nil) != (werr == nil) || !bytes.Equal(got, want) {
			t.Fatalf("Marshal = %s, %v; json.Marshal: %s, %v", got, err, want, werr)
		}
	})
}

// TestWriteResultForgets: once an answer is written, its sensitive.Bytes and
// sensitive.String members are zeros, at any depth.
func TestWriteResultForgets(t *testing.T) {
	plain, key := sensitive.Bytes("a data key, 32 bytes of it......"), sensitive.String("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
	v := map[string]any{"Plaintext": plain, "AccessKey": map[string]any{"SecretAccessKey": key}, "KeyId": "k"}
	want, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	WriteResult(rec, v)
	if !bytes.Equal(rec.Body.Bytes(), want) {
		t.Fatalf("wrote %s, want %s", rec.Body.Bytes(), want)
	}
	for name, b := range map[string][]byte{"Bytes": plain, "String": key} {
		if !bytes.Equal(b, make([]byte, len(b))) {
			t.Errorf("%s not zeroed after the answer was written: %q", name, b)
		}
	}
}
