package sigv4

import (
	"bytes"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/keyraft/keyraft/internal/awserr"
)

// FuzzParseAuthorization: ParseAuthorization never panics, fails only with an
// *awserr.Error, and whatever it accepts is well formed and survives a round
// trip through Authorization.String. Seeds: testdata/fuzz/FuzzParseAuthorization.
func FuzzParseAuthorization(f *testing.F) {
	f.Add("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260315/us-east-1/kms/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=" + goodSig)
	f.Fuzz(func(t *testing.T, header string) {
		a, err := ParseAuthorization(header)
		if err != nil {
			checkWellFormedError(t, err)
			return
		}
		for _, part := range []string{a.AccessKeyID, a.Date, a.Region, a.Service} {
			if part == "" || strings.Contains(part, "/") {
				t.Fatalf("credential part %q of %q", part, header)
			}
		}
		if checkSignature(a.Signature) != nil {
			t.Fatalf("accepted signature %q", a.Signature)
		}
		if err := checkSignedHeaders(strings.Join(a.SignedHeaders, ";")); err != nil {
			t.Fatalf("accepted SignedHeaders %q", a.SignedHeaders)
		}
		b, err := ParseAuthorization(a.String())
		if err != nil || a.String() != b.String() {
			t.Fatalf("round trip of %q: %q, %v", header, b.String(), err)
		}
	})
}

// FuzzVerify mutates one thing of a validly signed request at a time (a
// header, the Authorization header, X-Amz-Date, host, query, method, path)
// and may also replace its body. Verify never panics, fails only with an
// *awserr.Error, and never accepts a request whose body differs from the body
// that was signed. Seeds: testdata/fuzz/FuzzVerify.
func FuzzVerify(f *testing.F) {
	// The signed request, as wire bytes, parsed afresh for every input. It
	// signs X-Amz-Content-Sha256 too, so that a verifier trusting that header
	// instead of hashing the body would accept a changed body.
	o := defaultOpts()
	o.headers = kmsHeaders([2]string{"X-Amz-Content-Sha256", payloadHash(o.body)})
	wire := signWire(f, o)
	f.Add(uint8(0), "X-Amz-Target", "TrentService.Decrypt", []byte(nil), true)
	f.Add(uint8(7), "alias/app", "alias/evil", []byte(`{"KeyId":"alias/evil","Plaintext":"aGVsbG8="}`), false)

	f.Fuzz(func(t *testing.T, op uint8, name, value string, body []byte, keepBody bool) {
		r, signed := readWire(t, wire)
		switch op % 10 {
		case 0:
			r.Header[name] = []string{value}
		case 1:
			r.Header[name] = append(r.Header[name], value)
		case 2:
			delete(r.Header, name)
		case 3:
			r.Header.Set("Authorization", value)
		case 4:
			r.Header.Set("X-Amz-Date", value)
		case 5:
			r.Host = value
		case 6:
			r.URL.RawQuery = value
		case 7:
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), name, value, 1))
		case 8:
			r.Method = value
		case 9:
			r.URL.Path, r.URL.RawPath = value, ""
		}
		if keepBody {
			body = signed
		}
		id, err := testVerifier(t0).Verify(r, body)
		if err != nil {
			checkWellFormedError(t, err)
			return
		}
		if !bytes.Equal(body, signed) {
			t.Fatalf("accepted body %q; %q was signed", body, signed)
		}
		if id != testAKID {
			t.Fatalf("accepted as %q", id)
		}
		// The operation the router reads is the one that was signed.
		if got := r.Header.Get("X-Amz-Target"); got != testTarget {
			t.Fatalf("accepted with X-Amz-Target %q; %q was signed", got, testTarget)
		}
	})
}

// FuzzParseExpires: X-Amz-Expires is accepted exactly when it is decimal
// digits worth 0 to 604800 seconds, and never panics. Seeds:
// testdata/fuzz/FuzzParseExpires.
func FuzzParseExpires(f *testing.F) {
	for _, s := range []string{"60", "604800", "604801", "-1", "", "007", "1e3", "99999999999999999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := parseExpires(s)
		n, perr := strconv.ParseUint(s, 10, 64)
		want := perr == nil && s[0] != '+' && n <= uint64(maxExpires/time.Second)
		if (err == nil) != want {
			t.Fatalf("parseExpires(%q) = %v, %v", s, d, err)
		}
		if err != nil {
			checkWellFormedError(t, err)
			return
		}
		if d != time.Duration(n)*time.Second {
			t.Fatalf("parseExpires(%q) = %v", s, d)
		}
	})
}

func checkWellFormedError(t *testing.T, err error) {
	t.Helper()
	var ae *awserr.Error
	if !errors.As(err, &ae) {
		t.Fatalf("error %T %v is not an *awserr.Error", err, err)
	}
	switch ae.Type {
	case TypeMissingAuthenticationToken, TypeIncompleteSignature, TypeInvalidSignature, TypeUnrecognizedClient:
	default:
		t.Fatalf("unknown error type %q", ae.Type)
	}
	if ae.Status != http.StatusBadRequest || ae.Message == "" {
		t.Fatalf("bad error %+v", ae)
	}
	if strings.Contains(ae.Message, testSecret) {
		t.Fatalf("the secret leaked: %v", ae)
	}
}
