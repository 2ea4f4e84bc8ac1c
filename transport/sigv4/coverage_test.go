package sigv4

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// The tests in this file check that a signature covers what the request
// does: its host, its date and, for an AWS JSON 1.1 request, its operation
// (X-Amz-Target); and that a presigned request lives as long as its
// X-Amz-Expires says, no longer.

// specSigned builds a server-side request carrying headers (X-Amz-Date set to
// t0) and signs it the way the SigV4 specification says over exactly signed,
// which lets a test sign lists no SDK would.
func specSigned(t *testing.T, headers [][2]string, signed []string) (*http.Request, []byte) {
	t.Helper()
	r, body := toServer(t, clientRequest(t, signOpts{headers: headers, body: []byte(testBody)}))
	r.Header.Set("X-Amz-Date", "20260101T000000Z")
	canonical, ok := canonicalString(r, signed, payloadHash(body), false)
	if !ok {
		t.Fatalf("a signed header is missing from the request: %v", signed)
	}
	sig := sign(testSecret, "20260101T000000Z", testRegion, "kms", canonical)
	r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential="+testAKID+"/20260101/"+testRegion+"/kms/aws4_request, SignedHeaders="+
		strings.Join(signed, ";")+", Signature="+sig)
	return r, body
}

// TestVerifyTargetMustBeSigned: a signature made over a request without an
// X-Amz-Target header cannot be replayed with one. Before, a signed
// DescribeKey replayed as ScheduleKeyDeletion.
func TestVerifyTargetMustBeSigned(t *testing.T) {
	o := defaultOpts()
	o.headers = [][2]string{{"Content-Type", "application/x-amz-json-1.1"}} // the SDK signs every header present
	r, body := signSDK(t, o)
	if a, _ := ParseAuthorization(r.Header.Get("Authorization")); strings.Join(a.SignedHeaders, ";") != "content-length;content-type;host;x-amz-date" {
		t.Fatalf("signed %v", a.SignedHeaders)
	}
	r.Header.Set("X-Amz-Target", "TrentService.ScheduleKeyDeletion")
	wantAuthError(t, testVerifier(t0), r, body, TypeInvalidSignature, msgTargetNotSigned)

	// The same with a list spelled by hand, and with no target at all: a
	// request that names no operation has nothing for a signature to cover.
	r, body = specSigned(t, kmsHeaders(), []string{"content-type", "host", "x-amz-date"})
	wantAuthError(t, testVerifier(t0), r, body, TypeInvalidSignature, msgTargetNotSigned)
	r.Header.Del("X-Amz-Target")
	wantAuthError(t, testVerifier(t0), r, body, TypeInvalidSignature, msgTargetNotSigned)

	// Signed once, the operation cannot be doubled: the router reads one.
	r, body = signSDK(t, defaultOpts())
	r.Header.Add("X-Amz-Target", "TrentService.ScheduleKeyDeletion")
	wantAuthError(t, testVerifier(t0), r, body, TypeIncompleteSignature, "X-Amz-Target must appear only once. ")

	// The operator API names its operation by method and path, which every
	// canonical request covers: X-Amz-Target is not required there.
	r, body = specSigned(t, [][2]string{{"Content-Type", "application/json"}}, []string{"content-type", "host", "x-amz-date"})
	v := testVerifier(t0)
	v.PathNamesOperation = true
	wantAccepted(t, v, r, body)
}

// TestVerifyDateMustBeSigned: X-Amz-Date enters the string to sign anyway,
// but every SDK lists it, and a list without it is refused as AWS refuses a
// list without host.
func TestVerifyDateMustBeSigned(t *testing.T) {
	r, body := specSigned(t, kmsHeaders(), []string{"content-type", "host", "x-amz-target"})
	wantAuthError(t, testVerifier(t0), r, body, TypeInvalidSignature, msgDateNotSigned)
	v := testVerifier(t0)
	v.PathNamesOperation = true
	wantAuthError(t, v, r, body, TypeInvalidSignature, msgDateNotSigned)

	// Host is checked first, as before.
	r, body = specSigned(t, kmsHeaders(), []string{"content-type", "x-amz-date", "x-amz-target"})
	wantAuthError(t, testVerifier(t0), r, body, TypeInvalidSignature, msgHostNotSigned)

	// The full list is accepted.
	r, body = specSigned(t, kmsHeaders(), []string{"content-type", "host", "x-amz-date", "x-amz-target"})
	wantAccepted(t, testVerifier(t0), r, body)
}

// presign presigns the default request with v4.Signer.PresignHTTP at t0,
// with X-Amz-Expires set to expires when it is not empty, and returns it as
// the server sees it. hoist leaves the SDK's default on, which moves
// X-Amz-Target from the headers into the query.
func presign(t *testing.T, expires string, hoist bool) (*http.Request, []byte) {
	t.Helper()
	o := defaultOpts()
	if expires != "" {
		o.url = testURL + "?X-Amz-Expires=" + url.QueryEscape(expires)
	}
	req := clientRequest(t, o)
	cred := aws.Credentials{AccessKeyID: testAKID, SecretAccessKey: testSecret}
	signedURL, signedHeaders, err := v4.NewSigner().PresignHTTP(context.Background(), cred, req,
		payloadHash(o.body), "kms", testRegion, t0, func(so *v4.SignerOptions) { so.DisableHeaderHoisting = !hoist })
	if err != nil {
		t.Fatal(err)
	}
	out := clientRequest(t, signOpts{url: signedURL, body: o.body})
	for k, vs := range signedHeaders {
		if k != "Host" {
			out.Header[k] = vs
		}
	}
	return toServer(t, out)
}

// TestVerifyPresignedTarget: a presigned request names its operation in a
// signed X-Amz-Target header too. The Go SDK's default presigning moves the
// header into the query, where no router looks for the operation; such a
// request is refused, and one presigned with DisableHeaderHoisting works.
func TestVerifyPresignedTarget(t *testing.T) {
	r, body := presign(t, "", false)
	if !strings.Contains(r.URL.Query().Get("X-Amz-SignedHeaders"), "x-amz-target") {
		t.Fatalf("x-amz-target not signed: %s", r.URL)
	}
	wantAccepted(t, testVerifier(t0), r, body)

	r, body = presign(t, "", true)
	if !r.URL.Query().Has("X-Amz-Target") || r.Header.Get("X-Amz-Target") != "" {
		t.Fatalf("X-Amz-Target not hoisted: %s", r.URL)
	}
	wantAuthError(t, testVerifier(t0), r, body, TypeInvalidSignature, msgTargetNotSigned)
	// The replay: the operation set in a header the signature does not cover.
	r.Header.Set("X-Amz-Target", "TrentService.ScheduleKeyDeletion")
	wantAuthError(t, testVerifier(t0), r, body, TypeInvalidSignature, msgTargetNotSigned)
}

// TestVerifyPresignedExpires: X-Amz-Expires bounds a presigned request's
// life as in AWS's query-string authentication: from X-Amz-Date (which may
// be up to five minutes ahead of the server clock) until X-Amz-Date plus
// X-Amz-Expires seconds, at most 604800 (seven days). Without it the
// five-minute window applies.
func TestVerifyPresignedExpires(t *testing.T) {
	tests := []struct {
		expires string
		at      time.Duration
		ok      bool
		typ     string
		msg     string
	}{
		{expires: "3600", at: 59 * time.Minute, ok: true},
		{expires: "3600", at: time.Hour, ok: true},
		{expires: "3600", at: time.Hour + time.Second, typ: TypeInvalidSignature,
			msg: "Signature expired: 20260101T000000Z is now earlier than 20260101T000001Z (20260101T010001Z - 3600 sec.)"},
		{expires: "3600", at: -maxSkew, ok: true},
		{expires: "3600", at: -maxSkew - time.Second, typ: TypeInvalidSignature,
			msg: "Signature not yet current: 20260101T000000Z is still later than 20251231T235959Z (20251231T235459Z + 5 min.)"},
		{expires: "60", at: 60 * time.Second, ok: true},
		{expires: "60", at: 61 * time.Second, typ: TypeInvalidSignature,
			msg: "Signature expired: 20260101T000000Z is now earlier than 20260101T000001Z (20260101T000101Z - 60 sec.)"},
		{expires: "0", at: 0, ok: true},
		{expires: "0", at: time.Second, typ: TypeInvalidSignature,
			msg: "Signature expired: 20260101T000000Z is now earlier than 20260101T000001Z (20260101T000001Z - 0 sec.)"},
		{expires: "604800", at: 7 * 24 * time.Hour, ok: true},
		{expires: "604801", at: 0, typ: TypeIncompleteSignature,
			msg: "X-Amz-Expires must be less than a week (in seconds) that is 604800. Re-examine the query-string parameters."},
		{expires: "99999999999999999999", at: 0, typ: TypeIncompleteSignature,
			msg: "X-Amz-Expires must be less than a week (in seconds) that is 604800. Re-examine the query-string parameters."},
		{expires: "-1", at: 0, typ: TypeIncompleteSignature,
			msg: "X-Amz-Expires must be non-negative. Re-examine the query-string parameters."},
		{expires: "1h", at: 0, typ: TypeIncompleteSignature,
			msg: "X-Amz-Expires should be a number. Re-examine the query-string parameters."},
		{expires: "+60", at: 0, typ: TypeIncompleteSignature,
			msg: "X-Amz-Expires should be a number. Re-examine the query-string parameters."},
		{expires: "", at: maxSkew, ok: true},
		{expires: "", at: maxSkew + time.Second, typ: TypeInvalidSignature,
			msg: "Signature expired: 20260101T000000Z is now earlier than 20260101T000001Z (20260101T000501Z - 5 min.)"},
	}
	for _, tt := range tests {
		r, body := presign(t, tt.expires, false)
		v := testVerifier(t0.Add(tt.at))
		if tt.ok {
			wantAccepted(t, v, r, body)
		} else {
			wantAuthError(t, v, r, body, tt.typ, tt.msg)
		}
	}

	// Repeated, it is refused as the other parameters are.
	r, body := presign(t, "60", false)
	r.URL.RawQuery += "&X-Amz-Expires=604800"
	wantAuthError(t, testVerifier(t0), r, body, TypeIncompleteSignature,
		"AWS query-string parameter 'X-Amz-Expires' must appear only once. Re-examine the query-string parameters.")

	// It is signed: lengthening it breaks the signature.
	r, body = presign(t, "60", false)
	r.URL.RawQuery = strings.Replace(r.URL.RawQuery, "X-Amz-Expires=60", "X-Amz-Expires=604800", 1)
	wantAuthError(t, testVerifier(t0.Add(time.Hour)), r, body, TypeInvalidSignature, msgSignatureMismatch)
	wantAuthError(t, testVerifier(t0), r, body, TypeInvalidSignature, msgSignatureMismatch)

	// In a header-signed request it is not a parameter of the signature:
	// the five-minute window holds whatever the query says.
	o := defaultOpts()
	o.url = testURL + "?X-Amz-Expires=3600"
	r, body = signSDK(t, o)
	wantAccepted(t, testVerifier(t0.Add(maxSkew)), r, body)
	wantAuthError(t, testVerifier(t0.Add(10*time.Minute)), r, body, TypeInvalidSignature,
		"Signature expired: 20260101T000000Z is now earlier than 20260101T000500Z (20260101T001000Z - 5 min.)")
}
