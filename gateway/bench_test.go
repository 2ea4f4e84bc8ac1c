package gateway

import (
	"encoding/base64"
	"encoding/json"
	"testing"
)

// encryptBody is what aws-sdk-go-v2 sends for Encrypt of 4 KiB.
func encryptBody() []byte {
	pt := make([]byte, 4096)
	for i := range pt {
		pt[i] = byte(i * 7)
	}
	return []byte(`{"EncryptionContext":{"purpose":"bench"},"KeyId":"alias/bench","Plaintext":"` + base64.StdEncoding.EncodeToString(pt) + `"}`)
}

// BenchmarkDecodeEncrypt: reading an Encrypt request once, for both its
// operation and its event, against encoding/json's reading.
func BenchmarkDecodeEncrypt(b *testing.B) {
	body := encryptBody()
	op, _, _ := Lookup("TrentService.Encrypt")
	b.Run("decode-and-parameters", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			req, e := op.Decode(body)
			if e != nil {
				b.Fatal(e)
			}
			if p := op.Parameters(req); len(p) != 2 {
				b.Fatal(p)
			}
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			req := op.newRequest()
			if err := json.Unmarshal(body, req); err != nil {
				b.Fatal(err)
			}
		}
	})
}
