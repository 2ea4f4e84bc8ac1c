package awserr

import (
	"encoding/json"
	"fmt"
	"net/http"
)

// Error is an AWS error answer. Type is the error code SDKs switch on
// (JSON 1.1's `__type` and the X-Amzn-Errortype header), Message the text a
// person reads, Status the HTTP status, which SDKs use to decide whether to
// retry (every 5xx is retried).
type Error struct {
	Type    string
	Message string
	Status  int
}

// Error implements error as "Type: Message", the form logs and tests print.
func (e *Error) Error() string { return e.Type + ": " + e.Message }

// New is an error with a message formatted as fmt.Sprintf does. A caller
// passing a message it did not write uses "%s", so that a '%' in it stays.
func New(typ string, status int, format string, args ...any) *Error {
	return &Error{Type: typ, Status: status, Message: fmt.Sprintf(format, args...)}
}

// Error codes that more than one package answers with. The codes of one
// service alone (NotFoundException, NoSuchEntity, the SigV4 ones) stay
// with that service.
const (
	TypeServiceUnavailable = "ServiceUnavailableException"
	TypeUnknownOperation   = "UnknownOperationException"
	TypeSerialization      = "SerializationException"
)

// Unavailable is the retryable answer of a service that cannot serve the
// request right now: SDKs retry any 503.
func Unavailable(msg string) *Error {
	return &Error{Type: TypeServiceUnavailable, Status: http.StatusServiceUnavailable, Message: msg}
}

// UnknownOperation answers a request for an operation the service does not
// have (or not over the method used). AWS sends some of these with no
// message at all; msg may be empty.
func UnknownOperation(msg string) *Error {
	return &Error{Type: TypeUnknownOperation, Status: http.StatusBadRequest, Message: msg}
}

// Serialization answers a request body that could not be read or decoded.
// status is 400, or 413 for a body over the size limit.
func Serialization(status int, msg string) *Error {
	return &Error{Type: TypeSerialization, Status: status, Message: msg}
}

// JSON is the AWS JSON 1.1 error body: {"__type":…,"message":…}, the
// message left out when empty, as AWS leaves it out. The status and the
// X-Amzn-Errortype header are the HTTP writer's (transport/awsjson). It is
// a method of its own, not MarshalJSON, so that an *Error marshalled as
// part of something else (an audit event) keeps its own shape.
func (e *Error) JSON() []byte {
	b, _ := json.Marshal(body{Type: e.Type, Message: e.Message}) // two strings always encode
	return b
}

// body is the JSON 1.1 error shape; encoding/json escapes the message as
// it escapes every answer (HTML characters included), which clients see.
type body struct {
	Type    string `json:"__type"`
	Message string `json:"message,omitempty"`
}
