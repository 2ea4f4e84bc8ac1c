package kms

import (
	"encoding/base64"
	"testing"

	"github.com/keyraft/keyraft/audit"
)

// encryptBody is what aws-sdk-go-v2 sends for Encrypt of 4 KiB.
func encryptBody() []byte {
	pt := make([]byte, 4096)
	for i := range pt {
		pt[i] = byte(i * 7)
	}
	return []byte(`{"EncryptionContext":{"purpose":"bench"},"KeyId":"alias/bench","Plaintext":"` + base64.StdEncoding.EncodeToString(pt) + `"}`)
}

// BenchmarkDecodeEncrypt: reading an Encrypt request, with the fast path
// and with encoding/json alone.
func BenchmarkDecodeEncrypt(b *testing.B) {
	body := encryptBody()
	b.Run("fast", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var r encryptRequest
			if e := decode(body, &r); e != nil {
				b.Fatal(e)
			}
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var r encryptRequest
			if e := decodeSlow(body, &r); e != nil {
				b.Fatal(e)
			}
		}
	})
	b.Run("event-parameters", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if p := audit.RequestParameters(body); len(p) != 2 {
				b.Fatal(p)
			}
		}
	})
}
