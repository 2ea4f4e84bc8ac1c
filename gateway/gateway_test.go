package gateway

import (
	"encoding/base64"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/keyraft/keyraft/audit"
	"github.com/keyraft/keyraft/transport/awsjson"
)

// neverAudited are request members that carry secrets, ciphertext or
// bearer credentials: CloudTrail records none of them.
var neverAudited = map[string]bool{
	"Plaintext": true, "CiphertextBlob": true, "GrantTokens": true, "GrantToken": true, "Recipient": true,
	"Message": true, "Signature": true, "Mac": true, "EncryptedKeyMaterial": true, "ImportToken": true,
	"SecretAccessKey": true, "SharedSecretCiphertextBlob": true,
}

func TestTable(t *testing.T) {
	if len(Operations()) != 37+5+2+3+10 { // 37 KMS, 5 signing/MAC, 2 ML-KEM, 3 key import, 10 IAM
		t.Fatalf("%d operations", len(Operations()))
	}
	for _, op := range Operations() {
		req := reflect.ValueOf(op.newRequest()).Elem()
		for _, name := range op.Audited {
			if _, ok := awsjson.Field(req, name); !ok {
				t.Errorf("%s audits %s, which its request does not have", op.Name, name)
			}
			if neverAudited[name] {
				t.Errorf("%s audits %s", op.Name, name)
			}
		}
		prefix := "TrentService."
		if op.API == IAM {
			prefix = "KeyraftIAM."
		}
		if got, api, name := Lookup(prefix + op.Name); got != op || api != op.API || name != op.Name {
			t.Errorf("Lookup(%s%s) = %v %v %q", prefix, op.Name, got, api, name)
		}
		if !strings.HasSuffix(op.Action(), ":"+op.Name) {
			t.Errorf("%s: action %s", op.Name, op.Action())
		}
	}
	if op, api, name := Lookup("TrentService.encrypt"); op != nil || api != KMS || name != "encrypt" {
		t.Errorf("a target in the wrong case found %v", op)
	}
	if op, api, _ := Lookup("Other.Encrypt"); op != nil || api != 0 {
		t.Errorf("another service's target found %v", op)
	}
}

// decodeFor decodes body for the operation named.
func decodeFor(t *testing.T, name, body string) (*Op, any) {
	t.Helper()
	op, _, _ := Lookup("TrentService." + name)
	req, e := op.Decode([]byte(body))
	if e != nil {
		t.Fatalf("%s %s: %v", name, body, e)
	}
	return op, req
}

// TestOneReading (issue 14, item 8): the event records what the operation
// ran, whatever the casing of what the client sent.
func TestOneReading(t *testing.T) {
	op, req := decodeFor(t, "DisableKey", `{"KeyId":"A","keyid":"B"}`)
	if p := op.Parameters(req); !reflect.DeepEqual(p, map[string]any{"keyId": "A"}) {
		t.Fatalf("DisableKey {KeyId: A, keyid: B} records %v", p)
	}
	secret := base64.StdEncoding.EncodeToString([]byte("attack at dawn"))
	for _, body := range []string{
		`{"KeyId":"k","plaintext":"` + secret + `"}`,
		`{"KeyId":"k","Plaintext":"` + secret + `","PlainText":"` + secret + `","encryptionContext":{"x":"` + secret + `"}}`,
	} {
		op, req := decodeFor(t, "Encrypt", body)
		b, _ := json.Marshal(op.Parameters(req))
		if strings.Contains(string(b), secret) || string(b) != `{"keyId":"k"}` {
			t.Fatalf("Encrypt %s records %s", body, b)
		}
	}
	if _, e := (&Op{API: KMS, newRequest: func() any { return new(struct{ KeyId string }) }}).Decode([]byte("{\"KeyId\":\"\xff\"}")); e == nil || e.Type != "SerializationException" {
		t.Fatalf("a non-UTF-8 string: %v", e)
	}
}

func TestParameters(t *testing.T) {
	op, req := decodeFor(t, "GenerateDataKey", `{"KeyId":"k","Plaintext":"c2VjcmV0","EncryptionContext":{"Plaintext":"ctx is logged"},"CiphertextBlob":"eA==","NumberOfBytes":32,"GrantTokens":["bearer"]}`)
	p := op.Parameters(req)
	if p["keyId"] != "k" || p["numberOfBytes"] != int32(32) || p["encryptionContext"].(map[string]any)["Plaintext"] != "ctx is logged" || len(p) != 3 {
		t.Fatalf("parameters: %v", p)
	}
	op, req = decodeFor(t, "CreateGrant", `{"KeyId":"k","GranteePrincipal":"arn:aws:iam::1:user/u","Operations":["Decrypt"],"Constraints":{"EncryptionContextEquals":{"a":"b"}},"GrantTokens":["bearer"]}`)
	b, _ := json.Marshal(op.Parameters(req))
	if want := `{"constraints":{"encryptionContextEquals":{"a":"b"}},"granteePrincipal":"arn:aws:iam::1:user/u","keyId":"k","operations":["Decrypt"]}`; string(b) != want {
		t.Fatalf("CreateGrant records %s, want %s", b, want)
	}
	op, req = decodeFor(t, "UpdateKeyDescription", `{"KeyId":"k","Description":"`+strings.Repeat("é", 5000)+`"}`)
	if d := op.Parameters(req)["description"].(string); len(d) > maxAuditedString+20 || !strings.HasSuffix(d, "(truncated)") {
		t.Fatalf("a 10 KB description is recorded as %d bytes", len(d))
	}
	op, req = decodeFor(t, "PutKeyPolicy", `{"KeyId":"k","Policy":"`+strings.Repeat("p", 20000)+`"}`)
	if d := op.Parameters(req)["policy"].(string); len(d) != 20000 {
		t.Fatalf("a 20 KB policy is recorded as %d bytes", len(d))
	}
	if p := op.Parameters(nil); len(p) != 0 {
		t.Fatalf("an undecoded request records %v", p)
	}
}

// FuzzParameters: whatever the body, an event records only its
// operation's audited members, strings bounded, and never the plaintext.
func FuzzParameters(f *testing.F) {
	f.Add(uint8(3), []byte(`{"KeyId":"k","Plaintext":"c2VjcmV0IHNlY3JldA==","EncryptionContext":{"a":"b"}}`))
	f.Add(uint8(3), []byte(`{"KeyId":"k","plaintext":"c2VjcmV0IHNlY3JldA==","Plaintext":"c2VjcmV0IHNlY3JldA=="}`))
	f.Add(uint8(30), []byte(`{"KeyId":"k","Constraints":{"EncryptionContextSubset":{"a":"b"}},"Operations":["Decrypt"]}`))
	f.Add(uint8(0), []byte(`{"Tags":[{"TagKey":"a","TagValue":"b"}],"Policy":"{}"}`))
	f.Fuzz(func(t *testing.T, n uint8, body []byte) {
		op := Operations()[int(n)%len(Operations())]
		req, e := op.Decode(body)
		if e != nil {
			return
		}
		p := op.Parameters(req)
		allowed := map[string]bool{}
		for _, name := range op.Audited {
			allowed[audit.LowerFirst(name)] = true
		}
		for k := range p {
			if !allowed[k] {
				t.Fatalf("%s records %q", op.Name, k)
			}
		}
		b, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		if len(b) > 6*len(body)+64 {
			t.Fatalf("%s: %d bytes of parameters from a %d-byte body", op.Name, len(b), len(body))
		}
		if f, ok := awsjson.Field(reflect.ValueOf(req).Elem(), "Plaintext"); ok && f.Len() >= 8 {
			if strings.Contains(string(b), base64.StdEncoding.EncodeToString(f.Bytes())) {
				t.Fatalf("%s records its plaintext: %s", op.Name, b)
			}
		}
	})
}
