// Package kms holds the semantics of the AWS KMS operations: request
// validation, key identifiers, key states and the crypto each operation does,
// run on the leader against the replicated state.
package kms
