// Package crypto holds keyraft's pure cryptographic functions: key generation,
// AES-256-GCM sealing, the self-describing KMS ciphertext blob format, and the
// asymmetric primitives of every key spec (RSA-OAEP, ECDH, ML-KEM, ML-DSA, key
// pairs and the DER encodings of their keys).
//
// It knows nothing of the cluster or the barrier: it takes keys, plaintext and
// associated data as bytes and returns bytes. It performs no I/O except reading
// randomness from the io.Reader its callers pass in. See DESIGN.md for the blob
// format.
package crypto
