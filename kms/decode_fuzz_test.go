package kms

import (
	"reflect"
	"testing"
)

// decodeTargets are the request shapes the fast path must read exactly as
// encoding/json does.
func decodeTargets() []any {
	return []any{
		&encryptRequest{}, &decryptRequest{}, &reEncryptRequest{}, &generateDataKeyRequest{},
		&generateRandomRequest{}, &createGrantRequest{}, &createKeyRequest{}, &listAliasesRequest{},
		&tagResourceRequest{}, &scheduleKeyDeletionRequest{}, &putKeyPolicyRequest{},
	}
}

func TestDecodeFastTakesCommonRequests(t *testing.T) {
	for _, tc := range []struct {
		body string
		into any
	}{
		{`{"KeyId":"alias/a","Plaintext":"aGVsbG8=","EncryptionContext":{"k":"v"}}`, &encryptRequest{}},
		{`{"CiphertextBlob":"aGVsbG8=","GrantTokens":["t"],"KeyId":"k"}`, &decryptRequest{}},
		{`{"KeyId":"k","NumberOfBytes":32,"DryRun":false}`, &generateDataKeyRequest{}},
	} {
		if !decodeFast([]byte(tc.body), tc.into) {
			t.Errorf("%s: fast path refused a common request", tc.body)
		}
	}
	var r encryptRequest
	if e := decode([]byte(`{"KeyId":"k","Plaintext":"aGVsbG8=","Unknown":[1]}`), &r); e != nil || string(r.Plaintext) != "hello" || r.KeyId != "k" {
		t.Fatalf("decode: %+v %v", r, e)
	}
	for _, body := range []string{`{"keyid":"k"}`, `{"KeyId":"k","KeyId":"j"}`, `{"Plaintext":"a\u0047Vsbg=="}`, `{"Plaintext":null}`, `{"Plaintext":"!!"}`} {
		if decodeFast([]byte(body), &encryptRequest{}) {
			t.Errorf("%s: fast path took what it should leave to encoding/json", body)
		}
	}
}

// FuzzDecodeFast: decode (fast path first) gives the same request, and the
// same error, as encoding/json alone, for every request shape.
func FuzzDecodeFast(f *testing.F) {
	for _, s := range []string{
		`{}`, ``, `null`, `{"KeyId":"alias/a","Plaintext":"aGVsbG8=","EncryptionContext":{"k":"v"},"GrantTokens":["g"],"DryRun":true}`,
		`{"CiphertextBlob":"aGVsbG8=","KeyId":"k","EncryptionAlgorithm":"SYMMETRIC_DEFAULT"}`,
		`{"KeyId":"k","NumberOfBytes":1e10}`, `{"keyId":"k"}`, `{"Plaintext":"aGVsbG8"}`, `{"Plaintext":""}`,
		`{"KeyId":"\u00e9"}`, "{\"KeyId\":\"\xff\"}", `{"Tags":[{"TagKey":"a","TagValue":"b"}],"KeyId":"k"}`,
		`{"Constraints":{"EncryptionContextEquals":{"a":"b"}},"Operations":["Decrypt"]}`, `{"KeyId":1}`,
		`{"PendingWindowInDays":7,"KeyId":"k"}`, `{"Policy":"{\"Version\":\"2012-10-17\"}","PolicyName":"default"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, target := range decodeTargets() {
			typ := reflect.TypeOf(target).Elem()
			got, want := reflect.New(typ).Interface(), reflect.New(typ).Interface()
			gotErr, wantErr := decode(body, got), decodeSlow(body, want)
			if !reflect.DeepEqual(gotErr, wantErr) {
				t.Fatalf("%s %q: error %v, encoding/json %v", typ, body, gotErr, wantErr)
			}
			if wantErr == nil && !reflect.DeepEqual(got, want) {
				t.Fatalf("%s %q: %+v, encoding/json %+v", typ, body, got, want)
			}
		}
	})
}
