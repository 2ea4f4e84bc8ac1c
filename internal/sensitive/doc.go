// Package sensitive marks the answer members that must not outlive the
// answer: plaintexts, data keys, random bytes, secret access keys. The
// operations (kms, iam) wrap such values in its types; the wire
// (transport/awsjson) writes them without copying them through
// encoding/json's pooled buffers and zeroes them once written.
//
// It is its own leaf package so that the operations can say "this is
// secret" without importing the wire.
package sensitive
