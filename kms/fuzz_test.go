package kms

import (
	"bytes"
	"testing"
)

// FuzzRequestDecoder feeds arbitrary bodies to every operation: nothing may
// panic, every refusal is an AWS error with a 4xx/5xx status, and a refused
// request leaves the replicated state exactly as it was.
func FuzzRequestDecoder(f *testing.F) {
	seeds := []string{
		`{}`, ``, `null`, `[]`, `{"KeyId":"x"}`, `{"Plaintext":"aGVsbG8="}`,
		`{"KeyId":"alias/a","Plaintext":"aGVsbG8=","EncryptionContext":{"k":"v"}}`,
		`{"CiphertextBlob":"SwEkM2Q0NTJkODA=","KeyId":"arn:aws:kms:us-east-1:111122223333:key/k"}`,
		`{"KeyId":"k","NumberOfBytes":1024}`, `{"KeyId":"k","KeySpec":"AES_128"}`,
		`{"Limit":1,"Marker":"z"}`, `{"Description":"d","Tags":[{"TagKey":"a","TagValue":"b"}]}`,
		`{"EncryptionContext":{"":""}}`, `{"GrantTokens":[""]}`, `{"Limit":-1}`, `{"KeyId":"arn:aws:kms:::"}`,
	}
	for i, s := range seeds {
		f.Add(uint8(i), []byte(s))
	}
	ts := newTestService(f)
	ops := []string{"CreateKey", "DescribeKey", "ListKeys", "Encrypt", "Decrypt", "GenerateDataKey"}
	f.Fuzz(func(t *testing.T, op uint8, body []byte) {
		name := ops[int(op)%len(ops)]
		before := ts.snapshot(t)
		res, e := ts.Handle(t.Context(), name, body)
		if e != nil {
			if e.Type == "" || e.Status < 400 {
				t.Fatalf("%s: malformed error %+v", name, e)
			}
			if !bytes.Equal(before, ts.snapshot(t)) {
				t.Fatalf("%s refused with %s but changed the state", name, e.Type)
			}
			return
		}
		if res == nil {
			t.Fatalf("%s: neither result nor error", name)
		}
	})
}
