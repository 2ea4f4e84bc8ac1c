package crypto

import "errors"

// ErrInvalidCiphertext is returned, possibly wrapped, for every ciphertext that
// cannot be parsed or authenticated: truncated, malformed, tampered with,
// sealed under another key, or bound to another header, associated data or
// encryption context. Callers map it to InvalidCiphertextException. Messages
// wrapping it describe the structural problem only, never key or plaintext bytes.
var ErrInvalidCiphertext = errors.New("invalid ciphertext")

// errKeySize reports a key that is not KeySize bytes long on the sealing side.
var errKeySize = errors.New("crypto: key must be 32 bytes")
