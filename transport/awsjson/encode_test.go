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

// TestSizeHintCoversAnswers: the hint is at least the encoded length of the
// answers the operations give (else each would grow, and copy, its buffer),
// and exact for plain ASCII members.
func TestSizeHintCoversAnswers(t *testing.T) {
	encrypt := map[string]any{"CiphertextBlob": make([]byte, 4096+90), "KeyId": "arn:aws:kms:us-east-1:111122223333:key/0b6a9c9e-7f2e-4a3c-9d0e-1f2a3b4c5d6e", "EncryptionAlgorithm": "SYMMETRIC_DEFAULT"}
	dataKey := map[string]any{"Plaintext": sensitive.Bytes(make([]byte, 32)), "CiphertextBlob": make([]byte, 150), "KeyId": "k", "KeyMaterialId": "abc"}
	nested := map[string]any{"KeyMetadata": map[string]any{"Arn": "arn", "Enabled": true, "KeyState": "Enabled"}, "Secret": sensitive.String("wJalr/K7")}
	for _, v := range []map[string]any{encrypt, dataKey, nested} {
		b, err := Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		if h := sizeHint(v); h < len(b) {
			t.Errorf("sizeHint = %d, encoded %d bytes: %s", h, len(b), b)
		}
	}
	for _, v := range []map[string]any{encrypt, dataKey} {
		b, _ := Marshal(v)
		if h := sizeHint(v); h != len(b) {
			t.Errorf("sizeHint = %d, encoded %d bytes", h, len(b))
		}
	}
}

// TestWriteResultReusesNothingWritten: answers written one after the other
// through the pooled buffer are each exactly json.Marshal's, whatever the
// size of the one before.
func TestWriteResultReusesNothingWritten(t *testing.T) {
	for _, n := range []int{4096, 10, 2000, 0, 4096} {
		v := map[string]any{"CiphertextBlob": bytes.Repeat([]byte{byte(n)}, n), "KeyId": "k"}
		want, _ := json.Marshal(v)
		rec := httptest.NewRecorder()
		WriteResult(rec, v)
		if !bytes.Equal(rec.Body.Bytes(), want) {
			t.Fatalf("answer of %d bytes: wrote %s, want %s", n, rec.Body.Bytes(), want)
		}
	}
}

type discard struct{ httptest.ResponseRecorder }

func (d *discard) Write(p []byte) (int, error) { return len(p), nil }

// BenchmarkWriteResult: the answer to an Encrypt of 4 KiB, written through
// the pooled buffer, against Marshal's growing one.
func BenchmarkWriteResult(b *testing.B) {
	v := map[string]any{"CiphertextBlob": make([]byte, 4096+90), "KeyId": "arn:aws:kms:us-east-1:111122223333:key/0b6a9c9e-7f2e-4a3c-9d0e-1f2a3b4c5d6e", "EncryptionAlgorithm": "SYMMETRIC_DEFAULT"}
	b.Run("pooled", func(b *testing.B) {
		b.ReportAllocs()
		w := &discard{*httptest.NewRecorder()}
		for b.Loop() {
			WriteResult(w, v)
		}
	})
	b.Run("marshal", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := Marshal(v); err != nil {
				b.Fatal(err)
			}
		}
	})
}
