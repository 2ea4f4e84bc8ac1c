package kms

import (
	"fmt"
	"net/http"
)

// Error is an AWS-style error: Type goes to `__type`, Message to `message`.
type Error struct {
	Type    string
	Message string
	Status  int
}

func (e *Error) Error() string { return e.Type + ": " + e.Message }

func newErr(typ string, status int, format string, args ...any) *Error {
	return &Error{Type: typ, Status: status, Message: fmt.Sprintf(format, args...)}
}

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
func Unavailable(msg string) *Error {
	return newErr("ServiceUnavailableException", http.StatusServiceUnavailable, "%s", msg)
}

// Internal is a non-retryable-by-meaning server fault; SDKs still retry 500s.
func Internal(msg string) *Error {
	return newErr("KMSInternalException", http.StatusInternalServerError, "%s", msg)
}
