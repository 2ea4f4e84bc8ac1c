// Package awserr is the one AWS error answer that every layer returns: the
// KMS and IAM operations, the SigV4 verifier and the request pipeline build
// an *Error, and the wire writes it as AWS JSON 1.1 (`__type`, `message`,
// the HTTP status and X-Amzn-Errortype) without converting it.
//
// It imports only the standard library, so that the operation packages
// below the wire (kms, iam) and the wire itself (transport/*) can share it
// without importing each other.
package awserr
