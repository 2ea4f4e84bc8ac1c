package sigv4

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestVerifyErrors asserts the exception name, status and message of every
// refusal Verify makes.
func TestVerifyErrors(t *testing.T) {
	replaceAuth := func(old, new string) func(*http.Request) {
		return func(r *http.Request) {
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), old, new, 1))
		}
	}
	setHeader := func(k, v string) func(*http.Request) { return func(r *http.Request) { r.Header.Set(k, v) } }
	// auth is the Authorization header of the default request, to spell out
	// the messages that quote it.
	dflt, _ := signSDK(t, defaultOpts())
	auth := dflt.Header.Get("Authorization")
	sig := auth[strings.LastIndex(auth, "=")+1:]

	tests := []struct {
		name     string
		opts     *signOpts                // nil: defaultOpts()
		mutate   func(*http.Request)      // applied to the server-side request
		verifier func(v *Verifier)        // adjusts testVerifier(t0)
		body     func(body []byte) []byte // replaces the body
		typ, msg string
	}{{
		name:   "no Authorization header",
		mutate: func(r *http.Request) { r.Header.Del("Authorization") },
		typ:    TypeMissingAuthenticationToken, msg: "Missing Authentication Token",
	}, {
		name:   "empty Authorization header",
		mutate: setHeader("Authorization", ""),
		typ:    TypeMissingAuthenticationToken, msg: "Missing Authentication Token",
	}, {
		name:   "not SigV4",
		mutate: setHeader("Authorization", "Basic QUtJREVYQU1QTEU6c2VjcmV0"),
		typ:    TypeMissingAuthenticationToken, msg: "Missing Authentication Token",
	}, {
		name:   "other AWS4 algorithm",
		mutate: replaceAuth("AWS4-HMAC-SHA256", "AWS4-ECDSA-P256-SHA256"),
		typ:    TypeIncompleteSignature, msg: "Unsupported AWS 'algorithm': 'AWS4-ECDSA-P256-SHA256' (only AWS4-HMAC-SHA256 for now). ",
	}, {
		name:   "Signature missing",
		mutate: setHeader("Authorization", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/us-east-1/kms/aws4_request, SignedHeaders=host;x-amz-date"),
		typ:    TypeIncompleteSignature,
		msg: "Authorization header requires 'Signature' parameter. " +
			"Authorization=AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/us-east-1/kms/aws4_request, SignedHeaders=host;x-amz-date",
	}, {
		name:   "everything missing, X-Amz-Date too",
		mutate: func(r *http.Request) { r.Header.Set("Authorization", "AWS4-HMAC-SHA256"); r.Header.Del("X-Amz-Date") },
		typ:    TypeIncompleteSignature,
		msg: "Authorization header requires 'Credential' parameter. Authorization header requires 'Signature' parameter. " +
			"Authorization header requires 'SignedHeaders' parameter. Authorization header requires existence of a 'X-Amz-Date' header. " +
			"Authorization=AWS4-HMAC-SHA256",
	}, {
		name:   "X-Amz-Date missing",
		mutate: func(r *http.Request) { r.Header.Del("X-Amz-Date") },
		typ:    TypeIncompleteSignature,
		msg:    "Authorization header requires existence of a 'X-Amz-Date' header. Authorization=" + auth,
	}, {
		name: "X-Amz-Date missing, Date present",
		mutate: func(r *http.Request) {
			r.Header.Del("X-Amz-Date")
			r.Header.Set("Date", "Thu, 01 Jan 2026 00:00:00 GMT")
		},
		typ: TypeIncompleteSignature,
		msg: "Authorization header requires existence of a 'X-Amz-Date' header. Authorization=" + auth,
	}, {
		name:   "component without equal sign",
		mutate: replaceAuth(", Signature=", ", Signature, Extra="),
		typ:    TypeIncompleteSignature,
		msg: "'Signature' not a valid key=value pair (missing equal-sign) in Authorization header: '" +
			strings.Replace(auth, ", Signature=", ", Signature, Extra=", 1) + "'.",
	}, {
		name:   "credential with four parts",
		mutate: replaceAuth("/kms/aws4_request", "/kms"),
		typ:    TypeIncompleteSignature,
		msg:    "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got 'AKIDEXAMPLE/20260101/us-east-1/kms'",
	}, {
		name:   "X-Amz-Date not in basic format",
		mutate: setHeader("X-Amz-Date", "2026-01-01T00:00:00Z"),
		typ:    TypeIncompleteSignature,
		msg:    "Date must be in ISO-8601 'basic format'. Got '2026-01-01T00:00:00Z'. See http://en.wikipedia.org/wiki/ISO_8601",
	}, {
		name:   "X-Amz-Date repeated",
		mutate: func(r *http.Request) { r.Header.Add("X-Amz-Date", "20260101T000000Z") },
		typ:    TypeIncompleteSignature,
		msg:    "Date must be in ISO-8601 'basic format'. Got '20260101T000000Z,20260101T000000Z'. See http://en.wikipedia.org/wiki/ISO_8601",
	}, {
		name:     "expired",
		verifier: func(v *Verifier) { v.Now = func() time.Time { return t0.Add(10 * time.Minute) } },
		typ:      TypeInvalidSignature,
		msg:      "Signature expired: 20260101T000000Z is now earlier than 20260101T000500Z (20260101T001000Z - 5 min.)",
	}, {
		name:     "not yet current",
		verifier: func(v *Verifier) { v.Now = func() time.Time { return t0.Add(-10 * time.Minute) } },
		typ:      TypeInvalidSignature,
		msg:      "Signature not yet current: 20260101T000000Z is still later than 20251231T235500Z (20251231T235000Z + 5 min.)",
	}, {
		name:   "host not signed",
		mutate: replaceAuth(";host;", ";"),
		typ:    TypeInvalidSignature, msg: "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.",
	}, {
		name: "wrong region",
		opts: &signOpts{region: "us-west-2"},
		typ:  TypeInvalidSignature, msg: "Credential should be scoped to a valid region. ",
	}, {
		name:     "no region configured",
		verifier: func(v *Verifier) { v.Region = "" },
		typ:      TypeInvalidSignature, msg: "Credential should be scoped to a valid region. ",
	}, {
		name: "wrong service",
		opts: &signOpts{service: "s3"},
		typ:  TypeInvalidSignature, msg: "Credential should be scoped to correct service: 'kms'. ",
	}, {
		name: "wrong region and service",
		opts: &signOpts{region: "eu-west-1", service: "dynamodb"},
		typ:  TypeInvalidSignature,
		msg:  "Credential should be scoped to a valid region. Credential should be scoped to correct service: 'kms'. ",
	}, {
		name:   "wrong terminator",
		mutate: replaceAuth("/aws4_request", "/aws5_request"),
		typ:    TypeInvalidSignature,
		msg:    "Credential should be scoped with a valid terminator: 'aws4_request', not 'aws5_request'. ",
	}, {
		name:   "scope date differs from X-Amz-Date",
		mutate: replaceAuth("/20260101/", "/20251231/"),
		typ:    TypeInvalidSignature,
		msg: "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: " +
			"'20251231' != '20260101', from '20260101T000000Z'. ",
	}, {
		name:   "every scope part wrong",
		mutate: replaceAuth("/20260101/us-east-1/kms/aws4_request", "/2026/mars-1/s3/aws4"),
		typ:    TypeInvalidSignature,
		msg: "Credential should be scoped to a valid region. Credential should be scoped to correct service: 'kms'. " +
			"Credential should be scoped with a valid terminator: 'aws4_request', not 'aws4'. " +
			"Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '2026' != '20260101', from '20260101T000000Z'. ",
	}, {
		name:   "unknown access key",
		mutate: replaceAuth("AKIDEXAMPLE/", "AKIDUNKNOWN/"),
		typ:    TypeUnrecognizedClient, msg: "The security token included in the request is invalid.",
	}, {
		name:     "no secret lookup",
		verifier: func(v *Verifier) { v.Secret = nil },
		typ:      TypeUnrecognizedClient, msg: "The security token included in the request is invalid.",
	}, {
		name:     "empty secret",
		verifier: func(v *Verifier) { v.Secret = func(string) ([]byte, bool) { return nil, true } },
		typ:      TypeUnrecognizedClient, msg: "The security token included in the request is invalid.",
	}, {
		name:   "X-Amz-Content-Sha256 differs from the body",
		mutate: setHeader("X-Amz-Content-Sha256", payloadHash([]byte("{}"))),
		typ:    TypeInvalidSignature, msg: msgSignatureMismatch,
	}, {
		name: "X-Amz-Content-Sha256 of the signed body, other body sent",
		opts: &signOpts{headers: kmsHeaders([2]string{"X-Amz-Content-Sha256", payloadHash([]byte(testBody))})},
		body: func([]byte) []byte { return []byte(`{"KeyId":"alias/evil"}`) },
		typ:  TypeInvalidSignature, msg: msgSignatureMismatch,
	}, {
		name:   "UNSIGNED-PAYLOAD",
		mutate: setHeader("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD"),
		typ:    TypeInvalidSignature, msg: msgSignatureMismatch,
	}, {
		name: "wrong secret",
		opts: &signOpts{secret: "not-the-secret"},
		typ:  TypeInvalidSignature, msg: msgSignatureMismatch,
	}, {
		name:   "signed header absent",
		mutate: func(r *http.Request) { r.Header.Del("X-Amz-Target") },
		typ:    TypeInvalidSignature, msg: msgSignatureMismatch,
	}, {
		name:   "signed header absent (host)",
		mutate: func(r *http.Request) { r.Host = "" },
		typ:    TypeInvalidSignature, msg: msgSignatureMismatch,
	}, {
		name:   "signature not hex",
		mutate: replaceAuth(sig, strings.Repeat("z", 64)),
		typ:    TypeInvalidSignature, msg: msgSignatureMismatch,
	}, {
		name:   "signature in uppercase hex",
		mutate: replaceAuth(sig, strings.ToUpper(sig)),
		typ:    TypeInvalidSignature, msg: msgSignatureMismatch,
	}, {
		name:   "signature truncated",
		mutate: replaceAuth(sig, sig[:63]),
		typ:    TypeInvalidSignature, msg: msgSignatureMismatch,
	}, {
		name:   "two Authorization headers",
		mutate: func(r *http.Request) { r.Header.Add("Authorization", r.Header.Get("Authorization")) },
		typ:    TypeIncompleteSignature, msg: "Authorization header must appear only once. ",
	}, {
		name:   "header and presigned query",
		mutate: func(r *http.Request) { r.URL.RawQuery = "X-Amz-Algorithm=AWS4-HMAC-SHA256" },
		typ:    TypeInvalidSignature, msg: "Found both 'X-Amz-Algorithm' as a query-string param and 'Authorization' as HTTP header.",
	}, {
		name: "presigned query incomplete",
		mutate: func(r *http.Request) {
			r.Header.Del("Authorization")
			r.URL.RawQuery = "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-SignedHeaders=host"
		},
		typ: TypeIncompleteSignature,
		msg: "AWS query-string parameters must include 'X-Amz-Credential'. AWS query-string parameters must include 'X-Amz-Signature'. " +
			"AWS query-string parameters must include 'X-Amz-Date'. Re-examine the query-string parameters.",
	}, {
		name: "presigned query with another algorithm",
		mutate: func(r *http.Request) {
			r.Header.Del("Authorization")
			r.URL.RawQuery = "X-Amz-Algorithm=AWS4-HMAC-SHA1&X-Amz-Credential=a/b/c/d/e&X-Amz-Signature=00&X-Amz-SignedHeaders=host&X-Amz-Date=20260101T000000Z"
		},
		typ: TypeIncompleteSignature, msg: "Unsupported AWS 'algorithm': 'AWS4-HMAC-SHA1' (only AWS4-HMAC-SHA256 for now). ",
	}, {
		name: "presigned query with a repeated parameter",
		mutate: func(r *http.Request) {
			r.Header.Del("Authorization")
			r.URL.RawQuery = "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=a/b/c/d/e&X-Amz-Credential=f/b/c/d/e"
		},
		typ: TypeIncompleteSignature,
		msg: "AWS query-string parameter 'X-Amz-Credential' must appear only once. Re-examine the query-string parameters.",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := defaultOpts()
			if tt.opts != nil {
				o.headers, o.region, o.service, o.secret = tt.opts.headers, tt.opts.region, tt.opts.service, tt.opts.secret
				if o.headers == nil {
					o.headers = kmsHeaders()
				}
			}
			r, body := signSDK(t, o)
			if tt.mutate != nil {
				tt.mutate(r)
			}
			if tt.body != nil {
				body = tt.body(body)
			}
			v := testVerifier(t0)
			if tt.verifier != nil {
				tt.verifier(v)
			}
			wantAuthError(t, v, r, body, tt.typ, tt.msg)
		})
	}
}

func TestVerifyNilRequest(t *testing.T) {
	_, err := testVerifier(t0).Verify(nil, nil)
	checkAuthError(t, err, TypeMissingAuthenticationToken, "Missing Authentication Token")
}
