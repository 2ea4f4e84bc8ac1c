package sigv4

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
)

// kmsEncryptRequest captures the request the Go SDK's KMS client sends for an
// Encrypt of plaintextLen bytes (base64 in the JSON body, signed with the Go
// SDK's header set), as net/http's server would hand it to a handler.
func kmsEncryptRequest(tb testing.TB, plaintextLen int) (*http.Request, []byte) {
	tb.Helper()
	client, sent := capturingKMSClient(tb, "")
	plaintext := []byte(strings.Repeat("k", plaintextLen))
	if _, err := client.Encrypt(context.Background(), &kms.EncryptInput{
		KeyId: aws.String("alias/app"), Plaintext: plaintext,
		EncryptionContext: map[string]string{"purpose": "bench"},
	}); err != nil {
		tb.Fatal(err)
	}
	return sent()
}

// BenchmarkVerify verifies a Go SDK KMS Encrypt request with 4 KiB of
// plaintext (a ~5.5 KB body), the request a leader verifies most.
func BenchmarkVerify(b *testing.B) {
	r, body := kmsEncryptRequest(b, 4096)
	date, ok := parseAmzDate(r.Header.Get("X-Amz-Date"))
	if !ok {
		b.Fatalf("X-Amz-Date %q", r.Header.Get("X-Amz-Date"))
	}
	v := testVerifier(date)
	wantAccepted(b, v, r, body)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(r, body); err != nil {
			b.Fatal(err)
		}
	}
}
