package kms

import (
	"net/http"

	"github.com/keyraft/keyraft/internal/awserr"
)

// The KMS errors the handlers share. Each is an awserr.Error, the one AWS
// error type, which the gateway writes to the wire as it is.

func notFound(format string, args ...any) *awserr.Error {
	return awserr.New("NotFoundException", http.StatusNotFound, format, args...)
}

func validation(field, constraint string) *awserr.Error {
	return awserr.New("ValidationException", http.StatusBadRequest,
		"1 validation error detected: Value at '%s' failed to satisfy constraint: %s", field, constraint)
}

func invalidCiphertext() *awserr.Error {
	return awserr.New("InvalidCiphertextException", http.StatusBadRequest, "")
}

// Unavailable is the retryable answer of a cluster that cannot serve crypto
// right now (sealed, leaderless, or leadership lost mid-request). SDKs retry
// any 503.
func Unavailable(msg string) *awserr.Error { return awserr.Unavailable(msg) }

// Internal is a non-retryable-by-meaning server fault; SDKs still retry 500s.
func Internal(msg string) *awserr.Error {
	return awserr.New("KMSInternalException", http.StatusInternalServerError, "%s", msg)
}
