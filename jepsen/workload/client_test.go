package workload

import (
	"context"
	"encoding/binary"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/keyraft/keyraft/jepsen/history"
)

// fakeKMS answers every request with status and body, as keyraft would,
// and remembers the last User-Agent.
func fakeKMS(t *testing.T, status int, body string, delay time.Duration, ua *string) *kms.Client {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		*ua = r.UserAgent()
		time.Sleep(delay)
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.Header().Set("X-Amzn-Requestid", "req-1")
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(srv.Close)
	return newClient(srv.URL, "us-east-1", "AKID", "secret", nil)
}

func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status int
		body   string
		delay  time.Duration
		want   history.Status
		code   string
	}{
		{"ok", 200, `{"KeyMetadata":{"KeyId":"k","KeyState":"Enabled"}}`, 0, history.OK, ""},
		{"refused", 409, `{"__type":"DisabledException","message":"disabled"}`, 0, history.Fail, "DisabledException"},
		{"sealed", 503, `{"__type":"ServiceUnavailableException","message":"This keyraft node is sealed: unseal it"}`, 0, history.Fail, "ServiceUnavailableException"},
		{"no leader", 503, `{"__type":"ServiceUnavailableException","message":"No keyraft leader is available right now; retry."}`, 0, history.Info, "ServiceUnavailableException"},
		{"commit timeout", 503, `{"__type":"DependencyTimeoutException","message":"timed out"}`, 0, history.Info, "DependencyTimeoutException"},
		{"no answer", 200, `{}`, 300 * time.Millisecond, history.Info, "timeout"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var ua string
			k := fakeKMS(t, tc.status, tc.body, tc.delay, &ua)
			ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
			defer cancel()
			md, err := metadata(k.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String("k")}, withToken(history.Token("r1", 7))))
			o := classify(err, md)
			if o.status != tc.want || o.code != tc.code {
				t.Fatalf("got %s %q (%s), want %s %q", o.status, o.code, o.msg, tc.want, tc.code)
			}
			if tc.delay == 0 && o.requestID != "req-1" {
				t.Fatalf("request id %q", o.requestID)
			}
			if !strings.Contains(ua, "jepsen/r1-7") {
				t.Fatalf("User-Agent %q lacks the op token", ua)
			}
		})
	}
}

func TestBlobHeader(t *testing.T) {
	id := "11111111-1111-1111-1111-111111111111"
	b := append([]byte{'K', 1, byte(len(id))}, id...)
	b = binary.BigEndian.AppendUint32(b, 3)
	b = append(b, make([]byte, 28)...)
	got, v, ok := blobHeader(b)
	if !ok || got != id || v != 3 {
		t.Fatalf("%q %d %v", got, v, ok)
	}
	if _, _, ok := blobHeader([]byte("garbage")); ok {
		t.Fatal("garbage parsed")
	}
}
