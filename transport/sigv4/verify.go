package sigv4

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/keyraft/keyraft/internal/awserr"
)

// Verifier checks SigV4-signed AWS JSON 1.1 requests. Verify reads its
// exported fields and never writes them; the only state it changes is its
// signing-key cache, which is safe for concurrent use, so one Verifier may
// serve concurrent requests. A Verifier must not be copied after first use.
type Verifier struct {
	Region  string           // configured region; the credential scope must name it
	Service string           // "kms"; empty means "kms"
	Now     func() time.Time // nil => time.Now
	// Secret looks up the secret access key of an access key id; ok=false
	// (or a nil Secret, or an empty secret) => UnrecognizedClientException.
	// Verify calls it on every request, so a key deleted or rotated stops
	// working at once; only the derivation of the signing key from the
	// secret it returns is cached. The secret is handed over: Verify zeroes
	// it before it returns, so Secret returns a copy of its own.
	Secret func(accessKeyID string) (secret []byte, ok bool)
	// PathNamesOperation is set for an API that names its operation by
	// method and path (the operator API), which every canonical request
	// covers. Otherwise the request is an AWS JSON 1.1 one, whose operation
	// is its X-Amz-Target header: that header must then appear once and be
	// signed, or a signature made for one operation would do for any.
	PathNamesOperation bool

	keys keyCache // signing keys by secret and credential scope
}

// Verify checks r (whose body has already been read into body) and returns
// the access key id that signed it. Every error is an *awserr.Error.
//
// Credentials come from the Authorization header or, for a presigned request,
// from the X-Amz-* query parameters; having both is refused. A presigned
// request with X-Amz-Expires (0 to 604800 seconds, as in AWS) is valid until
// X-Amz-Date plus that many seconds; without it, the five-minute window of a
// header-signed request applies.
//
// The signature must cover what the request does: host, X-Amz-Date (a
// presigned request carries it in its signed query) and, unless
// PathNamesOperation, the X-Amz-Target header that names the operation, in
// the presigned form too. The Go SDK's default presigning moves X-Amz-Target
// into the query, where the router never looks for the operation; such a
// request is refused (presign with DisableHeaderHoisting instead).
// The checks run in the order AWS's JSON services run them, so a request
// with several faults gets the error AWS would give it first — except that
// the Authorization header is parsed in full, algorithm and Credential shape
// included, before X-Amz-Date is looked at:
//
//  1. Authorization header or presigned query present, and SigV4
//     (MissingAuthenticationTokenException otherwise);
//  2. header or query well formed, X-Amz-Date present (IncompleteSignatureException);
//  3. X-Amz-Date in ISO-8601 basic format (IncompleteSignatureException) and
//     within five minutes of Now either way, or for a presigned request with
//     X-Amz-Expires no more than five minutes ahead and not expired
//     (InvalidSignatureException, "Signature expired: …" / "Signature not
//     yet current: …");
//  4. host, x-amz-date (header form) and x-amz-target (unless
//     PathNamesOperation) among the signed headers, in that order
//     (InvalidSignatureException), and X-Amz-Target sent at most once;
//  5. credential scope names Region, Service, aws4_request and the date of
//     X-Amz-Date, every wrong part reported in one message (InvalidSignatureException);
//  6. access key known (UnrecognizedClientException);
//  7. X-Amz-Content-Sha256, if sent, equal to the SHA-256 of body, and the
//     recomputed signature equal to the one sent, compared in constant time
//     (InvalidSignatureException with AWS's signature-mismatch message).
//
// The payload hash in the canonical request is always computed from body,
// never taken from X-Amz-Content-Sha256, so a signature only ever covers the
// bytes that arrived; "UNSIGNED-PAYLOAD" is not accepted. An
// X-Amz-Security-Token header is covered by the signature like any other
// signed header but not interpreted: keyraft issues no temporary credentials.
//
// Two deliberate departures from AWS: X-Amz-Date is required (AWS would also
// accept a Date header, which no SDK sends without X-Amz-Date), and the message
// for its absence says so; and malformed input AWS has no documented message
// for (a repeated Authorization header or presigned parameter, a repeated or
// unknown Authorization component, an unsorted SignedHeaders list) is refused
// as IncompleteSignatureException with a message in AWS's style.
func (v *Verifier) Verify(r *http.Request, body []byte) (accessKeyID string, err error) {
	if r == nil || r.URL == nil {
		return "", errMissingToken()
	}
	p, amzDate, presigned, err := v.credentials(r)
	if err != nil {
		return "", err
	}

	date, ok := parseAmzDate(amzDate)
	if !ok {
		return "", errBadDate(amzDate)
	}
	now := time.Now
	if v.Now != nil {
		now = v.Now
	}
	t := now().UTC()
	switch {
	case date.After(t.Add(maxSkew)):
		return "", errSkew(date, t)
	case p.expiresSet:
		if date.Add(p.expires).Before(t) {
			return "", errExpired(date, t, p.expires)
		}
	case date.Before(t.Add(-maxSkew)):
		return "", errSkew(date, t)
	}

	if err := v.checkCovered(r, p, presigned); err != nil {
		return "", err
	}

	// parseAmzDate took amzDate digit for digit, so its first eight bytes
	// are date.Format(scopeLayout).
	if dateWant := amzDate[:len(scopeLayout)]; p.Region != v.Region || v.Region == "" ||
		p.Service != v.service() || p.terminator != terminator || p.Date != dateWant {
		return "", v.scopeError(p, dateWant, amzDate)
	}

	if v.Secret == nil {
		return "", ErrUnrecognizedClient()
	}
	secret, ok := v.Secret(p.AccessKeyID)
	defer clear(secret)
	if !ok || len(secret) == 0 {
		return "", ErrUnrecognizedClient()
	}

	// The buffers below are sized for a KMS request (a canonical request
	// of 300-600 bytes, a string to sign of about 140), so that a usual one
	// is checked without allocating; a larger one spills to the heap.
	var payloadHash [2 * sha256.Size]byte
	bodySum := sha256.Sum256(body)
	hex.Encode(payloadHash[:], bodySum[:])
	if sent := r.Header.Values("X-Amz-Content-Sha256"); len(sent) > 1 || len(sent) == 1 && sent[0] != string(payloadHash[:]) {
		return "", errMismatch()
	}
	var canonicalBuf [1024]byte
	canonical, ok := canonicalRequest(canonicalBuf[:0], r, p.signedHeaders, payloadHash[:], presigned)
	if !ok {
		return "", errMismatch()
	}
	s := scope{secret: secretID(secret), date: p.Date, region: p.Region, service: p.Service}
	var stsBuf [256]byte
	want, ok := v.keys.signingKey(s, secret).mac(stringToSign(stsBuf[:0], amzDate, s, canonical))
	if !ok {
		return "", ErrUnrecognizedClient() // Forget ran meanwhile: the node sealed
	}

	// checkSignature let only 64 lowercase hex digits through. Decoding the
	// sent signature, which is public, and comparing raw MACs keeps the
	// secret-dependent side free of table lookups as well as constant time.
	var sentHex [2 * sha256.Size]byte
	var got [sha256.Size]byte
	if len(p.Signature) != len(sentHex) {
		return "", errMismatch()
	}
	copy(sentHex[:], p.Signature)
	if _, err := hex.Decode(got[:], sentHex[:]); err != nil || !hmac.Equal(got[:], want[:]) {
		return "", errMismatch()
	}
	return p.AccessKeyID, nil
}

// checkCovered refuses a signature that does not cover what the request
// does: where it goes (host), when it was made (x-amz-date, which a presigned
// request carries in its signed query instead) and, unless the operation is
// named by the path, which operation it asks for (x-amz-target). Without
// the last, a signed DescribeKey would replay as ScheduleKeyDeletion.
func (v *Verifier) checkCovered(r *http.Request, p parsed, presigned bool) error {
	if !signsHeader(p.signedHeaders, "host") {
		return errInvalid(msgHostNotSigned)
	}
	if !presigned && !signsHeader(p.signedHeaders, "x-amz-date") {
		return errInvalid(msgDateNotSigned)
	}
	if v.PathNamesOperation {
		return nil
	}
	if !signsHeader(p.signedHeaders, "x-amz-target") {
		return errInvalid(msgTargetNotSigned)
	}
	// The canonical request joins repeated values, the router reads the
	// first: a request must not name two operations.
	if len(r.Header.Values("X-Amz-Target")) > 1 {
		return errIncomplete("X-Amz-Target must appear only once. ")
	}
	return nil
}

// Forget zeroes and drops every signing key the Verifier derived; a node
// calls it when it seals. A Verify still running may then refuse a request
// it would have accepted, as the sealed node would anyway.
func (v *Verifier) Forget() { v.keys.forget() }

// scopeError reports every wrong part of p's credential scope in one message,
// as AWS does.
func (v *Verifier) scopeError(p parsed, dateWant, amzDate string) error {
	var sp scopeProblems
	if p.Region != v.Region || v.Region == "" {
		sp.region()
	}
	if p.Service != v.service() {
		sp.service(v.service())
	}
	if p.terminator != terminator {
		sp.terminator(p.terminator)
	}
	if p.Date != dateWant {
		sp.date(p.Date, dateWant, amzDate)
	}
	return sp.err()
}

// parseAmzDate accepts exactly YYYYMMDD'T'HHMMSS'Z' with a valid calendar
// date and time (time.Parse alone would take a one-digit hour).
func parseAmzDate(s string) (time.Time, bool) {
	if len(s) != len(amzDateLayout) {
		return time.Time{}, false
	}
	for i := 0; i < len(s); i++ {
		switch i {
		case 8:
			if s[i] != 'T' {
				return time.Time{}, false
			}
		case 15:
			if s[i] != 'Z' {
				return time.Time{}, false
			}
		default:
			if s[i] < '0' || s[i] > '9' {
				return time.Time{}, false
			}
		}
	}
	t, err := time.Parse(amzDateLayout, s)
	return t, err == nil
}

func (v *Verifier) service() string {
	if v.Service == "" {
		return "kms"
	}
	return v.Service
}

// credentials finds and parses the request's credentials: from the
// Authorization header, or from the query of a presigned request.
func (v *Verifier) credentials(r *http.Request) (p parsed, amzDate string, presigned bool, err error) {
	auth := r.Header.Values("Authorization")
	// ParseQuery returns what it could parse along with any error; a query
	// that does not parse fails the signature check later.
	// Most requests have no query; url.ParseQuery would allocate a map anyway.
	var query url.Values
	if r.URL.RawQuery != "" {
		query, _ = url.ParseQuery(r.URL.RawQuery)
	}
	presigned = query.Has("X-Amz-Algorithm")
	switch {
	case len(auth) > 0 && presigned:
		return parsed{}, "", false, errInvalid(msgBothAuth)
	case len(auth) > 1:
		return parsed{}, "", false, errIncomplete("Authorization header must appear only once. ")
	case len(auth) == 1:
		p, amzDate, err := headerCredentials(r, auth[0])
		return p, amzDate, false, err
	case presigned:
		p, amzDate, err := queryCredentials(query)
		return p, amzDate, true, err
	default:
		return parsed{}, "", false, errMissingToken()
	}
}

func headerCredentials(r *http.Request, header string) (parsed, string, error) {
	p, missing, aerr := parseAuthorization(header)
	if aerr != nil {
		return parsed{}, "", aerr
	}
	dates := r.Header.Values("X-Amz-Date")
	if len(dates) == 0 {
		missing += "Authorization header requires existence of a 'X-Amz-Date' header. "
	}
	if missing != "" {
		return parsed{}, "", errIncomplete(missing + "Authorization=" + trimOWS(header))
	}
	// A repeated X-Amz-Date is not a date; the joined value fails to parse.
	return p, strings.Join(dates, ","), nil
}

// queryParams are the presigned-request parameters AWS requires, in the order
// its message lists the missing ones.
var queryParams = [...]string{"X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Signature", "X-Amz-SignedHeaders", "X-Amz-Date"}

// queryCredentials reads a presigned request's X-Amz-* parameters.
// X-Amz-Expires is optional (the Go SDK's presigner writes it only when
// asked); when present it sets the request's lifetime.
func queryCredentials(q url.Values) (parsed, string, error) {
	var missing string
	for _, name := range queryParams {
		switch vs := q[name]; {
		case len(vs) > 1:
			return parsed{}, "", errIncomplete(fmt.Sprintf(
				"AWS query-string parameter '%s' must appear only once. Re-examine the query-string parameters.", name))
		case len(vs) == 0 || vs[0] == "":
			missing += "AWS query-string parameters must include '" + name + "'. "
		}
	}
	if missing != "" {
		return parsed{}, "", errIncomplete(missing + "Re-examine the query-string parameters.")
	}
	if alg := q.Get("X-Amz-Algorithm"); alg != algorithm {
		return parsed{}, "", errIncomplete(fmt.Sprintf("Unsupported AWS 'algorithm': '%s' (only %s for now). ", alg, algorithm))
	}
	p, err := parseCredential(q.Get("X-Amz-Credential"))
	if err != nil {
		return parsed{}, "", err
	}
	p.signedHeaders = q.Get("X-Amz-SignedHeaders")
	if err = checkSignedHeaders(p.signedHeaders); err != nil {
		return parsed{}, "", err
	}
	if err = checkSignature(q.Get("X-Amz-Signature")); err != nil {
		return parsed{}, "", err
	}
	p.Signature = q.Get("X-Amz-Signature")
	switch vs := q["X-Amz-Expires"]; len(vs) {
	case 0:
	case 1:
		if p.expires, err = parseExpires(vs[0]); err != nil {
			return parsed{}, "", err
		}
		p.expiresSet = true
	default:
		return parsed{}, "", errIncomplete("AWS query-string parameter 'X-Amz-Expires' must appear only once. Re-examine the query-string parameters.")
	}
	return p, q.Get("X-Amz-Date"), nil
}

// parseExpires reads X-Amz-Expires: whole seconds, 0 to 604800, in decimal
// digits only; the messages are S3's, which documents the parameter.
func parseExpires(s string) (time.Duration, *awserr.Error) {
	const reexamine = "Re-examine the query-string parameters."
	digits := strings.TrimPrefix(s, "-")
	if digits == "" || strings.Trim(digits, "0123456789") != "" {
		return 0, errIncomplete("X-Amz-Expires should be a number. " + reexamine)
	}
	if digits != s {
		return 0, errIncomplete("X-Amz-Expires must be non-negative. " + reexamine)
	}
	// Compared as a string first, so that no number of digits overflows.
	digits = strings.TrimLeft(digits, "0")
	secs := int64(0)
	if len(digits) <= 7 {
		secs, _ = strconv.ParseInt("0"+digits, 10, 64)
	}
	if len(digits) > 7 || time.Duration(secs)*time.Second > maxExpires {
		return 0, errIncomplete(fmt.Sprintf("X-Amz-Expires must be less than a week (in seconds) that is %d. %s", int64(maxExpires/time.Second), reexamine))
	}
	return time.Duration(secs) * time.Second, nil
}
