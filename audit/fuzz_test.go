package audit

import (
	"encoding/json"
	"testing"
)

// FuzzDecodeRecord: stored bytes never panic the decoder, and a record whose
// event is a JSON object renders as a JSON object.
func FuzzDecodeRecord(f *testing.F) {
	ok := Record{Seq: 7, Event: []byte(`{"eventName":"Encrypt"}`)}
	ok.Hash = chainHash(ok.Prev, ok.Seq, ok.Event)
	f.Add(ok.encode())
	f.Add([]byte{})
	f.Add(make([]byte, recordHeader))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := decodeRecord(b)
		if err != nil {
			return
		}
		var obj map[string]any
		if json.Unmarshal(r.Event, &obj) == nil && !json.Valid(r.JSON()) {
			t.Fatalf("record of a JSON object rendered invalid JSON: %s", r.JSON())
		}
		if string(r.encode()) != string(b) {
			t.Fatal("decode/encode is not a round trip")
		}
	})
}

// FuzzRequestParameters: no body panics, and no sensitive member survives.
func FuzzRequestParameters(f *testing.F) {
	f.Add([]byte(`{"KeyId":"k","Plaintext":"eA==","EncryptionContext":{"a":"b"}}`))
	f.Add([]byte(`{"CiphertextBlob":"eA==","Nested":{"Plaintext":"x"}}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, body []byte) {
		p := RequestParameters(body)
		for k := range p {
			if k == "plaintext" || k == "ciphertextBlob" || k == "secretAccessKey" {
				t.Fatalf("sensitive member %q logged", k)
			}
		}
	})
}
