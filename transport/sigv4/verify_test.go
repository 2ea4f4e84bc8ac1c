package sigv4

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/kms"
)

// TestVerifySDKSigned verifies requests signed by the Go SDK's v4.Signer
// over several header sets.
func TestVerifySDKSigned(t *testing.T) {
	tests := []struct {
		name        string
		opts        signOpts
		wantSigned  string // the SignedHeaders the SDK must have chosen
		verifierReg string
	}{{
		name:       "json body, Go SDK header set",
		opts:       signOpts{headers: kmsHeaders([2]string{"Amz-Sdk-Invocation-Id", "3f1c8d8e-0000-4000-8000-000000000000"}, [2]string{"Amz-Sdk-Request", "attempt=1; max=3"})},
		wantSigned: "amz-sdk-invocation-id;amz-sdk-request;content-length;content-type;host;x-amz-date;x-amz-target",
	}, {
		name:       "json body, CLI header set without content-length",
		opts:       signOpts{headers: kmsHeaders(), noLength: true},
		wantSigned: "content-type;host;x-amz-date;x-amz-target",
	}, {
		name:       "empty body",
		opts:       signOpts{headers: kmsHeaders(), body: []byte{}},
		wantSigned: "content-type;host;x-amz-date;x-amz-target",
	}, {
		name:       "session token",
		opts:       signOpts{headers: kmsHeaders(), token: "FwoGZXIvYXdzEJr//////////wEaDEXAMPLETOKEN+/="},
		wantSigned: "content-length;content-type;host;x-amz-date;x-amz-security-token;x-amz-target",
	}, {
		name:       "x-amz-content-sha256 sent and signed",
		opts:       signOpts{headers: kmsHeaders([2]string{"X-Amz-Content-Sha256", payloadHash([]byte(testBody))})},
		wantSigned: "content-length;content-type;host;x-amz-content-sha256;x-amz-date;x-amz-target",
	}, {
		name: "repeated header and inner spaces",
		opts: signOpts{headers: kmsHeaders(
			[2]string{"X-Amz-Meta-Dup", "first"},
			[2]string{"X-Amz-Meta-Dup", "  second   value "},
			[2]string{"X-Custom", "a    b  c"},
		)},
		wantSigned: "content-length;content-type;host;x-amz-date;x-amz-meta-dup;x-amz-target;x-custom",
	}, {
		name:       "query string",
		opts:       signOpts{url: testURL + "?b=2&a=1&a=0&c=x%20y&d=%2F~&e", headers: kmsHeaders()},
		wantSigned: "content-length;content-type;host;x-amz-date;x-amz-target",
	}, {
		name:       "host without port, other region",
		opts:       signOpts{url: "https://kms.eu-central-1.keyraft.test/", headers: kmsHeaders(), region: "eu-central-1"},
		wantSigned: "content-length;content-type;host;x-amz-date;x-amz-target", verifierReg: "eu-central-1",
	}, {
		name:       "unicode body",
		opts:       signOpts{headers: kmsHeaders(), body: []byte(`{"KeyId":"alias/app","EncryptionContext":{"k":"héllo 世界"}}`)},
		wantSigned: "content-length;content-type;host;x-amz-date;x-amz-target",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := tt.opts
			if o.body == nil {
				o.body = []byte(testBody)
			}
			r, body := signSDK(t, o)
			a, err := ParseAuthorization(r.Header.Get("Authorization"))
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(a.SignedHeaders, ";"); got != tt.wantSigned {
				t.Fatalf("the SDK signed %s, want %s", got, tt.wantSigned)
			}
			v := testVerifier(t0)
			if tt.verifierReg != "" {
				v.Region = tt.verifierReg
			}
			wantAccepted(t, v, r, body)
		})
	}
}

// TestVerifyKMSClient captures requests made by the real KMS client of the Go
// SDK, as a keyraft user's program or sops would make them, and verifies them.
func TestVerifyKMSClient(t *testing.T) {
	for _, token := range []string{"", "FwoGZXIvYXdzEJr-session-token"} {
		client, sent := capturingKMSClient(t, token)
		for _, call := range []func() error{
			func() error { _, err := client.ListKeys(context.Background(), &kms.ListKeysInput{}); return err },
			func() error {
				_, err := client.Encrypt(context.Background(), &kms.EncryptInput{
					KeyId: aws.String("alias/app"), Plaintext: []byte("secret bytes"),
					EncryptionContext: map[string]string{"purpose": "test"},
				})
				return err
			},
		} {
			if err := call(); err != nil {
				t.Fatal(err)
			}
			captured, capturedBody := sent()
			date, ok := parseAmzDate(captured.Header.Get("X-Amz-Date"))
			if !ok {
				t.Fatalf("X-Amz-Date %q", captured.Header.Get("X-Amz-Date"))
			}
			a, err := ParseAuthorization(captured.Header.Get("Authorization"))
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("Go SDK KMS client signed %s", strings.Join(a.SignedHeaders, ";"))
			wantAccepted(t, testVerifier(date), captured, capturedBody)
		}
	}
}

// capturingKMSClient is a Go SDK KMS client (session token optional) whose
// HTTP client answers {} and keeps each request as net/http's server would
// hand it to a handler; sent returns the latest one and its body, and fails
// the test if none was sent since the previous call.
func capturingKMSClient(tb testing.TB, token string) (client *kms.Client, sent func() (*http.Request, []byte)) {
	var captured *http.Request
	var body []byte
	hc := clientFunc(func(req *http.Request) (*http.Response, error) {
		body = nil
		if req.Body != nil {
			var err error
			if body, err = io.ReadAll(req.Body); err != nil {
				return nil, err
			}
		}
		req.Body = io.NopCloser(strings.NewReader(string(body)))
		captured, _ = toServer(tb, req)
		return &http.Response{
			StatusCode: 200,
			Header:     http.Header{"Content-Type": {"application/x-amz-json-1.1"}},
			Body:       io.NopCloser(strings.NewReader(`{}`)),
			Request:    req,
		}, nil
	})
	client = kms.New(kms.Options{
		Region:           testRegion,
		BaseEndpoint:     aws.String("http://127.0.0.1:8200"),
		Credentials:      aws.NewCredentialsCache(staticCreds{token: token}),
		HTTPClient:       hc,
		RetryMaxAttempts: 1,
	})
	return client, func() (*http.Request, []byte) {
		tb.Helper()
		r := captured
		if r == nil {
			tb.Fatal("no request captured")
		}
		captured = nil
		return r, body
	}
}

type clientFunc func(*http.Request) (*http.Response, error)

func (f clientFunc) Do(r *http.Request) (*http.Response, error) { return f(r) }

type staticCreds struct{ token string }

func (c staticCreds) Retrieve(context.Context) (aws.Credentials, error) {
	return aws.Credentials{AccessKeyID: testAKID, SecretAccessKey: testSecret, SessionToken: c.token, Source: "test"}, nil
}

// TestVerifyPresigned verifies requests presigned with v4.Signer.PresignHTTP:
// the credentials, date and X-Amz-* headers travel in the query string.
func TestVerifyPresigned(t *testing.T) {
	for _, token := range []string{"", "FwoGZXIvYXdzEJr-session-token"} {
		req := clientRequest(t, defaultOpts())
		cred := aws.Credentials{AccessKeyID: testAKID, SecretAccessKey: testSecret, SessionToken: token}
		signedURL, signedHeaders, err := v4.NewSigner().PresignHTTP(context.Background(), cred, req,
			payloadHash([]byte(testBody)), "kms", testRegion, t0,
			// X-Amz-Target must stay a signed header (TestVerifyPresignedTarget).
			func(o *v4.SignerOptions) { o.DisableHeaderHoisting = true })
		if err != nil {
			t.Fatal(err)
		}
		build := func(u string) (*http.Request, []byte) {
			out := clientRequest(t, signOpts{url: u, body: []byte(testBody)})
			for k, vs := range signedHeaders {
				if k != "Host" {
					out.Header[k] = vs
				}
			}
			return toServer(t, out)
		}
		r, body := build(signedURL)
		if r.Header.Get("Authorization") != "" || !r.URL.Query().Has("X-Amz-Signature") {
			t.Fatalf("not a presigned request: %s", signedURL)
		}
		wantAccepted(t, testVerifier(t0), r, body)

		// Tampering with a signed query parameter breaks the signature.
		u, _ := url.Parse(signedURL)
		q := u.Query()
		q.Set("X-Amz-Target", "TrentService.Decrypt")
		u.RawQuery = q.Encode()
		r, body = build(u.String())
		wantAuthError(t, testVerifier(t0), r, body, TypeInvalidSignature, msgSignatureMismatch)

		// So does tampering with the body.
		r, _ = build(signedURL)
		wantAuthError(t, testVerifier(t0), r, []byte(`{"KeyId":"alias/other"}`), TypeInvalidSignature, msgSignatureMismatch)
	}
}

// TestVerifyClockWindow checks the five-minute window at its edges.
func TestVerifyClockWindow(t *testing.T) {
	r, body := signSDK(t, defaultOpts())
	for _, d := range []time.Duration{-maxSkew, -time.Second, 0, time.Second, maxSkew} {
		wantAccepted(t, testVerifier(t0.Add(d)), r, body)
	}
	wantAuthError(t, testVerifier(t0.Add(maxSkew+time.Second)), r, body, TypeInvalidSignature,
		"Signature expired: 20260101T000000Z is now earlier than 20260101T000001Z (20260101T000501Z - 5 min.)")
	wantAuthError(t, testVerifier(t0.Add(-maxSkew-time.Second)), r, body, TypeInvalidSignature,
		"Signature not yet current: 20260101T000000Z is still later than 20251231T235959Z (20251231T235459Z + 5 min.)")
}

// TestVerifyNilNowUsesClock: a Verifier without Now uses time.Now.
func TestVerifyNilNowUsesClock(t *testing.T) {
	o := defaultOpts()
	o.at = time.Now()
	r, body := signSDK(t, o)
	v := testVerifier(time.Time{})
	v.Now = nil
	wantAccepted(t, v, r, body)
	v.Service = "" // empty means kms
	wantAccepted(t, v, r, body)
}

// TestVerifyTamper changes one signed element of a valid request at a time.
func TestVerifyTamper(t *testing.T) {
	tests := []struct {
		name   string
		tamper func(r *http.Request, body []byte) []byte
	}{
		{"body", func(r *http.Request, body []byte) []byte {
			return []byte(strings.Replace(string(body), "alias/app", "alias/evil", 1))
		}},
		{"body truncated", func(r *http.Request, body []byte) []byte { return body[:len(body)-1] }},
		{"body emptied", func(r *http.Request, body []byte) []byte { return nil }},
		{"signed header value", func(r *http.Request, body []byte) []byte {
			r.Header.Set("X-Amz-Target", "TrentService.Decrypt")
			return body
		}},
		{"signed header removed", func(r *http.Request, body []byte) []byte {
			r.Header.Del("X-Amz-Target")
			return body
		}},
		{"signed header repeated", func(r *http.Request, body []byte) []byte {
			r.Header.Add("Content-Type", "text/plain")
			return body
		}},
		{"host", func(r *http.Request, body []byte) []byte {
			r.Host = "evil.test:8200"
			return body
		}},
		{"method", func(r *http.Request, body []byte) []byte {
			r.Method = http.MethodPut
			return body
		}},
		{"path", func(r *http.Request, body []byte) []byte {
			r.URL.Path = "/other"
			return body
		}},
		{"query added", func(r *http.Request, body []byte) []byte {
			r.URL.RawQuery = "Action=Decrypt"
			return body
		}},
		{"date, by one second", func(r *http.Request, body []byte) []byte {
			r.Header.Set("X-Amz-Date", "20260101T000001Z")
			return body
		}},
		{"region, with the verifier configured for it", func(r *http.Request, body []byte) []byte {
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), "/us-east-1/", "/us-west-2/", 1))
			return body
		}},
		{"signature, one digit", func(r *http.Request, body []byte) []byte {
			a := r.Header.Get("Authorization")
			last := a[len(a)-1]
			repl := byte('0')
			if last == '0' {
				repl = '1'
			}
			r.Header.Set("Authorization", a[:len(a)-1]+string(repl))
			return body
		}},
		{"signed headers list shortened", func(r *http.Request, body []byte) []byte {
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), "content-type;", "", 1))
			return body
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, body := signSDK(t, defaultOpts())
			v := testVerifier(t0)
			wantAccepted(t, v, r, body) // the untampered request is fine
			body = tt.tamper(r, body)
			if strings.Contains(r.Header.Get("Authorization"), "/us-west-2/") {
				v.Region = "us-west-2"
			}
			wantAuthError(t, v, r, body, TypeInvalidSignature, msgSignatureMismatch)
		})
	}

	// Headers outside SignedHeaders may change freely.
	r, body := signSDK(t, defaultOpts())
	r.Header.Set("User-Agent", "something else")
	r.Header.Set("X-Amzn-Trace-Id", "Root=1-abc")
	wantAccepted(t, testVerifier(t0), r, body)
}

// TestSDKSignerChoosesItsOwnHeaders records why Verify does not recompute
// with v4.Signer (doc.go): the signer picks the headers itself, so it cannot
// reproduce a client's list that signs User-Agent (as the AWS SDK for Java v1
// does) or signs content-length: 0 — while Verify checks such requests.
func TestSDKSignerChoosesItsOwnHeaders(t *testing.T) {
	req := clientRequest(t, signOpts{headers: kmsHeaders([2]string{"User-Agent", "aws-sdk-java/1.12"}, [2]string{"Content-Length", "0"}), body: []byte{}})
	if err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: testAKID, SecretAccessKey: testSecret},
		req, payloadHash(nil), "kms", testRegion, t0); err != nil {
		t.Fatal(err)
	}
	a, err := ParseAuthorization(req.Header.Get("Authorization"))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(a.SignedHeaders, ";"); got != "content-type;host;x-amz-date;x-amz-target" {
		t.Fatalf("v4.Signer signed %s; if it now signs user-agent or content-length:0, revisit doc.go", got)
	}

	// A client that does sign them: compute its signature the way the SigV4
	// specification says, over its own list, and check Verify accepts it.
	r, body := toServer(t, clientRequest(t, signOpts{headers: kmsHeaders([2]string{"User-Agent", "aws-sdk-java/1.12"}), body: []byte{}}))
	r.Header.Set("X-Amz-Date", "20260101T000000Z")
	r.Header.Set("Content-Length", "0")
	signed := []string{"content-length", "content-type", "host", "user-agent", "x-amz-date", "x-amz-target"}
	canonical := "POST\n/\n\ncontent-length:0\ncontent-type:application/x-amz-json-1.1\nhost:kms.keyraft.test:8200\n" +
		"user-agent:aws-sdk-java/1.12\nx-amz-date:20260101T000000Z\nx-amz-target:" + testTarget + "\n\n" +
		strings.Join(signed, ";") + "\n" + payloadHash(nil)
	if got, ok := canonicalString(r, signed, payloadHash(nil), false); !ok || got != canonical {
		t.Fatalf("canonical request:\n%s\nwant\n%s", got, canonical)
	}
	scope := "20260101/us-east-1/kms/aws4_request"
	sig := sign(testSecret, "20260101T000000Z", testRegion, "kms", canonical)
	r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential="+testAKID+"/"+scope+", SignedHeaders="+strings.Join(signed, ";")+", Signature="+sig)
	wantAccepted(t, testVerifier(t0), r, body)
}

// TestCanonicalRequestKnownAnswer pins the canonical request, string to sign
// and signature for a fixed request against the values botocore computes for
// the same request (vector raw_repeated_and_spaced_headers).
func TestCanonicalRequestKnownAnswer(t *testing.T) {
	wire := "POST / HTTP/1.1\r\nHost: localhost:8200\r\n" +
		"Content-Type: application/x-amz-json-1.1\r\nX-Amz-Target: TrentService.DescribeKey\r\n" +
		"X-Amz-Meta-Note:   several   inner    spaces  \r\nX-Amz-Meta-Dup: first\r\nX-Amz-Meta-Dup: second\r\n" +
		"X-Amz-Date: 20260315T101112Z\r\nContent-Length: 22\r\n\r\n" + `{"KeyId": "alias/app"}`
	r, body := readWire(t, []byte(wire))
	signed := []string{"content-type", "host", "x-amz-date", "x-amz-meta-dup", "x-amz-meta-note", "x-amz-target"}
	got, ok := canonicalString(r, signed, payloadHash(body), false)
	want := "POST\n/\n\ncontent-type:application/x-amz-json-1.1\nhost:localhost:8200\nx-amz-date:20260315T101112Z\n" +
		"x-amz-meta-dup:first,second\nx-amz-meta-note:several inner spaces\nx-amz-target:TrentService.DescribeKey\n\n" +
		"content-type;host;x-amz-date;x-amz-meta-dup;x-amz-meta-note;x-amz-target\n" + payloadHash(body)
	if !ok || got != want {
		t.Fatalf("canonical request:\n%s\nwant\n%s", got, want)
	}
	if sts := stringToSign(nil, "20260315T101112Z", scope{date: "20260315", region: testRegion, service: "kms"}, []byte(got)); string(sts) !=
		"AWS4-HMAC-SHA256\n20260315T101112Z\n20260315/us-east-1/kms/aws4_request\n"+payloadHash([]byte(got)) {
		t.Fatalf("string to sign:\n%s", sts)
	}
	sig := sign(testSecret, "20260315T101112Z", testRegion, "kms", got)
	const botocore = "d511a413b4984b1dd82699782e1eacadfd1a0ee02c8303b17e111a34b4c0a22d"
	if sig != botocore {
		t.Fatalf("signature %s, botocore computed %s", sig, botocore)
	}
}

func TestCanonicalQuery(t *testing.T) {
	for raw, want := range map[string]string{
		"":                        "",
		"b=2&a=1&a=0":             "a=0&a=1&b=2",
		"a-b=1&a=2":               "a=2&a-b=1",
		"c=x%20y&c=x+y&d=%2F~&e=": "c=x%20y&c=x%20y&d=%2F~&e=",
		"e":                       "e=",
		"k=%E4%B8%96*":            "k=%E4%B8%96%2A",
		"X-Amz-Signature=abc&z=1": "X-Amz-Signature=abc&z=1",
	} {
		if got, ok := canonicalQuery(raw, false); !ok || got != want {
			t.Errorf("canonicalQuery(%q) = %q, %v; want %q", raw, got, ok, want)
		}
	}
	if got, _ := canonicalQuery("X-Amz-Signature=abc&z=1", true); got != "z=1" {
		t.Errorf("presigned query kept the signature: %q", got)
	}
	if _, ok := canonicalQuery("a=%zz", false); ok {
		t.Error("an unparsable query was accepted")
	}
}

// TestCanonicalHeadersMovedByNetHTTP: net/http's server moves Host and
// Transfer-Encoding out of r.Header; a request built in-process may use
// non-canonical header keys. The canonical request still sees them all.
func TestCanonicalHeadersMovedByNetHTTP(t *testing.T) {
	wire := "POST / HTTP/1.1\r\nHost: localhost:8200\r\nTransfer-Encoding: chunked\r\n" +
		"X-Amz-Date: 20260101T000000Z\r\n\r\n2\r\n{}\r\n0\r\n\r\n"
	r, body := readWire(t, []byte(wire))
	if string(body) != "{}" || r.Header.Get("Transfer-Encoding") != "" {
		t.Fatalf("net/http kept Transfer-Encoding in the header map: %q %q", body, r.Header)
	}
	r.Header["x-amz-target"] = []string{"TrentService.ListKeys"} // not canonical
	signed := []string{"host", "transfer-encoding", "x-amz-date", "x-amz-target"}
	got, ok := canonicalString(r, signed, payloadHash(body), false)
	want := "POST\n/\n\nhost:localhost:8200\ntransfer-encoding:chunked\nx-amz-date:20260101T000000Z\n" +
		"x-amz-target:TrentService.ListKeys\n\n" + strings.Join(signed, ";") + "\n" + payloadHash(body)
	if !ok || got != want {
		t.Fatalf("canonical request:\n%s\nwant\n%s", got, want)
	}
}
