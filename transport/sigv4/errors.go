package sigv4

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/keyraft/keyraft/internal/awserr"
)

// Error types (the "__type" values). Every one of them is answered with HTTP
// 400: that is what AWS's JSON-protocol services, KMS among them, return for
// all four, signature mismatches included (403 with SignatureDoesNotMatch is
// the answer of the query/XML and REST services, not of JSON 1.1 ones).
const (
	TypeMissingAuthenticationToken = "MissingAuthenticationTokenException"
	TypeIncompleteSignature        = "IncompleteSignatureException"
	TypeInvalidSignature           = "InvalidSignatureException"
	TypeUnrecognizedClient         = "UnrecognizedClientException"
)

// Messages that do not depend on the request. The texts are AWS's, but for
// the x-amz-date and x-amz-target ones, which follow AWS's host message (AWS
// does not document refusing those lists).
const (
	msgMissingToken      = "Missing Authentication Token"
	msgUnrecognized      = "The security token included in the request is invalid."
	msgSignatureMismatch = "The request signature we calculated does not match the signature you provided. " +
		"Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
	msgHostNotSigned   = "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization."
	msgDateNotSigned   = "'X-Amz-Date' must be a 'SignedHeader' in the AWS Authorization."
	msgTargetNotSigned = "'X-Amz-Target' must be a 'SignedHeader' in the AWS Authorization."
	msgBothAuth        = "Found both 'X-Amz-Algorithm' as a query-string param and 'Authorization' as HTTP header."
)

// maxSkew is how far X-Amz-Date may be from the server clock either way; AWS's
// JSON services allow five minutes.
const maxSkew = 5 * time.Minute

// maxExpires is the longest X-Amz-Expires a presigned request may carry:
// seven days, as in AWS (a signing key is valid for no longer).
const maxExpires = 7 * 24 * time.Hour

// newError makes a refusal. Every refusal is an *awserr.Error, the one AWS
// error type, which the HTTP layer writes as it writes any other:
// {"__type": Type, "message": Message} with Status (and X-Amzn-Errortype:
// Type).
//
// Messages quote what the client sent (its Authorization header, dates,
// scope parts) the way AWS does, and never contain a secret access key or
// anything derived from one.
func newError(typ, msg string) *awserr.Error {
	return &awserr.Error{Type: typ, Message: msg, Status: http.StatusBadRequest}
}

func errMissingToken() *awserr.Error {
	return newError(TypeMissingAuthenticationToken, msgMissingToken)
}

// ErrUnrecognizedClient is the refusal of an access key the verifier does
// not know; the pipeline gives the same answer for a key deleted after its
// signature was checked.
func ErrUnrecognizedClient() *awserr.Error { return newError(TypeUnrecognizedClient, msgUnrecognized) }

func errMismatch() *awserr.Error { return newError(TypeInvalidSignature, msgSignatureMismatch) }

func errIncomplete(msg string) *awserr.Error { return newError(TypeIncompleteSignature, msg) }

func errInvalid(msg string) *awserr.Error { return newError(TypeInvalidSignature, msg) }

// errBadDate is AWS's answer to an X-Amz-Date that is not YYYYMMDD'T'HHMMSS'Z'.
func errBadDate(got string) *awserr.Error {
	return errIncomplete(fmt.Sprintf("Date must be in ISO-8601 'basic format'. Got '%s'. See http://en.wikipedia.org/wiki/ISO_8601", got))
}

// errSkew reports a request date outside now±maxSkew in AWS's words, e.g.
// "Signature expired: 20260101T000000Z is now earlier than 20260101T000500Z (20260101T001000Z - 5 min.)".
func errSkew(date, now time.Time) *awserr.Error {
	if date.Before(now) {
		return errInvalid(fmt.Sprintf("Signature expired: %s is now earlier than %s (%s - 5 min.)",
			formatTime(date), formatTime(now.Add(-maxSkew)), formatTime(now)))
	}
	return errInvalid(fmt.Sprintf("Signature not yet current: %s is still later than %s (%s + 5 min.)",
		formatTime(date), formatTime(now.Add(maxSkew)), formatTime(now)))
}

// errExpired reports a presigned request used after X-Amz-Date plus its
// X-Amz-Expires, worded as errSkew words an expired header signature.
func errExpired(date, now time.Time, expires time.Duration) *awserr.Error {
	return errInvalid(fmt.Sprintf("Signature expired: %s is now earlier than %s (%s - %d sec.)",
		formatTime(date), formatTime(now.Add(-expires)), formatTime(now), int64(expires/time.Second)))
}

// scopeProblems collects AWS's sentences for each wrong part of a credential
// scope. AWS reports all of them at once, each sentence ending in ". ", in
// this order (region, service, terminator, date); the region sentence no
// longer names the region the client used.
type scopeProblems struct{ b strings.Builder }

func (p *scopeProblems) region() { p.b.WriteString("Credential should be scoped to a valid region. ") }

func (p *scopeProblems) service(want string) {
	fmt.Fprintf(&p.b, "Credential should be scoped to correct service: '%s'. ", want)
}

func (p *scopeProblems) terminator(got string) {
	fmt.Fprintf(&p.b, "Credential should be scoped with a valid terminator: '%s', not '%s'. ", terminator, got)
}

func (p *scopeProblems) date(got, want, amzDate string) {
	fmt.Fprintf(&p.b, "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '%s' != '%s', from '%s'. ",
		got, want, amzDate)
}

func (p *scopeProblems) err() error {
	if p.b.Len() == 0 {
		return nil
	}
	return errInvalid(p.b.String())
}

func formatTime(t time.Time) string { return t.UTC().Format(amzDateLayout) }
