package sigv4

import (
	"bufio"
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/keyraft/keyraft/internal/awserr"
)

const (
	testAKID   = "AKIDEXAMPLE"
	testSecret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
	testRegion = "us-east-1"
	testURL    = "http://kms.keyraft.test:8200/"
	testTarget = "TrentService.Encrypt"
	testBody   = `{"KeyId":"alias/app","Plaintext":"aGVsbG8="}`
)

// t0 is the signing time of most tests; its messages match the examples AWS
// documents ("Signature expired: 20260101T000000Z is now earlier than …").
var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func testVerifier(now time.Time) *Verifier {
	return &Verifier{
		Region:  testRegion,
		Service: "kms",
		Now:     func() time.Time { return now },
		Secret: func(id string) ([]byte, bool) {
			if id == testAKID {
				return []byte(testSecret), true
			}
			return nil, false
		},
	}
}

func payloadHash(body []byte) string {
	sum := sha256.Sum256(body)
	return hex.EncodeToString(sum[:])
}

// signOpts describes one request to sign with the Go SDK's v4.Signer.
type signOpts struct {
	url      string
	headers  [][2]string // added in order, so repeated names give repeated values
	body     []byte
	region   string
	service  string
	secret   string
	token    string
	at       time.Time
	noLength bool // sign with ContentLength 0 even for a non-empty body, as botocore leaves it out
}

// kmsHeaders are the headers every KMS client sends.
func kmsHeaders(extra ...[2]string) [][2]string {
	return append([][2]string{
		{"Content-Type", "application/x-amz-json-1.1"},
		{"X-Amz-Target", testTarget},
	}, extra...)
}

func defaultOpts() signOpts {
	return signOpts{url: testURL, headers: kmsHeaders(), body: []byte(testBody)}
}

// signSDK signs a client request with v4.Signer.SignHTTP and returns it as
// the server sees it (see toServer), with its body.
func signSDK(t testing.TB, o signOpts) (*http.Request, []byte) {
	t.Helper()
	return readWire(t, signWire(t, o))
}

// signWire signs like signSDK and returns the request as wire bytes.
func signWire(t testing.TB, o signOpts) []byte {
	t.Helper()
	req := clientRequest(t, o)
	cred := aws.Credentials{AccessKeyID: testAKID, SecretAccessKey: or(o.secret, testSecret), SessionToken: o.token}
	if err := v4.NewSigner().SignHTTP(context.Background(), cred, req, payloadHash(o.body),
		or(o.service, "kms"), or(o.region, testRegion), orTime(o.at, t0)); err != nil {
		t.Fatal(err)
	}
	if o.noLength {
		req.ContentLength = int64(len(o.body))
	}
	var wire bytes.Buffer
	if err := req.Write(&wire); err != nil {
		t.Fatal(err)
	}
	return wire.Bytes()
}

func clientRequest(t testing.TB, o signOpts) *http.Request {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, or(o.url, testURL), bytes.NewReader(o.body))
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range o.headers {
		req.Header.Add(h[0], h[1])
	}
	if o.noLength {
		req.ContentLength = 0
	}
	return req
}

// toServer writes a client request onto the wire and parses it back with
// http.ReadRequest, the parser net/http's server uses, so that the verifier
// sees what a handler would: Host moved to r.Host, header keys canonical,
// values trimmed, Content-Length as a header, Transfer-Encoding moved out.
func toServer(t testing.TB, req *http.Request) (*http.Request, []byte) {
	t.Helper()
	var wire bytes.Buffer
	if err := req.Write(&wire); err != nil {
		t.Fatal(err)
	}
	return readWire(t, wire.Bytes())
}

func readWire(t testing.TB, wire []byte) (*http.Request, []byte) {
	t.Helper()
	r, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(wire)))
	if err != nil {
		t.Fatalf("parse request: %v\n%s", err, wire)
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		t.Fatal(err)
	}
	return r, body
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func orTime(t, def time.Time) time.Time {
	if t.IsZero() {
		return def
	}
	return t
}

// wantAccepted verifies r and fails unless it is accepted as testAKID.
func wantAccepted(t testing.TB, v *Verifier, r *http.Request, body []byte) {
	t.Helper()
	id, err := v.Verify(r, body)
	if err != nil {
		t.Fatalf("Verify: %v\nAuthorization: %s", err, r.Header.Get("Authorization"))
	}
	if id != testAKID {
		t.Fatalf("Verify = %q, want %q", id, testAKID)
	}
}

// wantAuthError verifies r and fails unless it is refused with exactly typ,
// status 400 and msg, with no secret in the error.
func wantAuthError(t testing.TB, v *Verifier, r *http.Request, body []byte, typ, msg string) {
	t.Helper()
	id, err := v.Verify(r, body)
	if err == nil {
		t.Fatalf("Verify accepted the request as %q; want %s", id, typ)
	}
	if id != "" {
		t.Errorf("Verify returned id %q with an error", id)
	}
	checkAuthError(t, err, typ, msg)
}

func checkAuthError(t testing.TB, err error, typ, msg string) {
	t.Helper()
	var ae *awserr.Error
	if !errors.As(err, &ae) {
		t.Fatalf("error %T %v is not an *awserr.Error", err, err)
	}
	if ae.Type != typ || ae.Message != msg || ae.Status != http.StatusBadRequest {
		t.Errorf("got  %d %s %q\nwant 400 %s %q", ae.Status, ae.Type, ae.Message, typ, msg)
	}
	if strings.Contains(ae.Error(), testSecret) {
		t.Errorf("error contains the secret: %v", ae)
	}
	if ae.Error() != typ+": "+msg {
		t.Errorf("Error() = %q", ae.Error())
	}
}

// canonicalString is canonicalRequest as a string, with the payload hash in hex.
func canonicalString(r *http.Request, signed []string, payloadHash string, presigned bool) (string, bool) {
	b, ok := canonicalRequest(nil, r, strings.Join(signed, ";"), []byte(payloadHash), presigned)
	return string(b), ok
}

// sign returns, in hex, the signature Verify computes for a canonical request
// signed at amzDate.
func sign(secret, amzDate, region, service, canonical string) string {
	s := scope{secret: secretID([]byte(secret)), date: amzDate[:len(scopeLayout)], region: region, service: service}
	key := deriveSigningKey([]byte(secret), s)
	m := hmac.New(sha256.New, key[:])
	m.Write(stringToSign(nil, amzDate, s, []byte(canonical)))
	return hex.EncodeToString(m.Sum(nil))
}
