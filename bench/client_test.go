package bench

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/kms"
)

// cannedHTTP answers every request with the same 200 and body, after
// reading the request body as a server would.
type cannedHTTP struct{ body []byte }

func (c cannedHTTP) Do(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		_, _ = io.Copy(io.Discard, r.Body)
		_ = r.Body.Close()
	}
	h := http.Header{}
	h.Set("Content-Type", "application/x-amz-json-1.1")
	h.Set("X-Amzn-Requestid", "0f6e1b1c-1111-2222-3333-444455556666")
	return &http.Response{StatusCode: http.StatusOK, Header: h, Body: io.NopCloser(bytes.NewReader(c.body)),
		ContentLength: int64(len(c.body)), Request: r}, nil
}

// BenchmarkSDKEncrypt is the load generator's own cost of one 4 KiB Encrypt
// through the SDK client as Run configures it (serialisation, SigV4, the
// middleware stack, deserialisation), without a network or a server.
func BenchmarkSDKEncrypt(b *testing.B) {
	resp, err := json.Marshal(map[string]string{
		"CiphertextBlob":      base64.StdEncoding.EncodeToString(make([]byte, MaxSize+100)),
		"KeyId":               "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
		"EncryptionAlgorithm": "SYMMETRIC_DEFAULT",
	})
	if err != nil {
		b.Fatal(err)
	}
	cfg := Config{AccessKeyID: "AKIAIOSFODNN7EXAMPLE", SecretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}.withDefaults()
	client := kms.New(clientOptions(cfg, "http://127.0.0.1:8200", cannedHTTP{resp}))
	in := &kms.EncryptInput{KeyId: new("1234abcd-12ab-34cd-56ef-1234567890ab"), Plaintext: make([]byte, MaxSize)}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := client.Encrypt(ctx, in); err != nil {
			b.Fatal(err)
		}
	}
}
