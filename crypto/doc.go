// Package crypto holds keyraft's pure cryptographic functions: key generation,
// AES-256-GCM sealing, and the self-describing KMS ciphertext blob format.
//
// It knows nothing of the cluster or the barrier: it takes keys, plaintext and
// associated data as bytes and returns bytes. It performs no I/O except reading
// randomness from the io.Reader its callers pass in. See DESIGN.md for the blob
// format.
package crypto
