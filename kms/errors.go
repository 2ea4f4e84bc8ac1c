package kms

import (
	"net/http"

	"github.com/keyraft/keyraft/internal/awserr"
)

// Error is the AWS error every KMS operation answers with. It is
// awserr.Error under the name the handlers' signatures use: one type, which
// the gateway writes to the wire as it is.
type Error = awserr.Error

// newErr is awserr.New, named for the handlers that call it.
var newErr = awserr.New

func notFound(format string, args ...any) *Error {
	return newErr("NotFoundException", http.StatusNotFound, format, args...)
}

func validation(field, constraint string) *Error {
	return newErr("ValidationException", http.StatusBadRequest,
		"1 validation error detected: Value at '%s' failed to satisfy constraint: %s", field, constraint)
}

func invalidCiphertext() *Error {
	return newErr("InvalidCiphertextException", http.StatusBadRequest, "")
}

// Unavailable is the retryable answer of a cluster that cannot serve crypto
// right now (sealed, leaderless, or leadership lost mid-request). SDKs retry
// any 503.
func Unavailable(msg string) *Error { return awserr.Unavailable(msg) }

// Internal is a non-retryable-by-meaning server fault; SDKs still retry 500s.
func Internal(msg string) *Error {
	return newErr("KMSInternalException", http.StatusInternalServerError, "%s", msg)
}
