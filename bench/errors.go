package bench

import "errors"

// Sentinel errors. Config problems wrap ErrConfig; per-operation failures
// detected by the bench itself (not by the server) wrap ErrBadResponse.
var (
	// ErrConfig reports an invalid Config field.
	ErrConfig = errors.New("invalid config")
	// ErrBadResponse reports a response that parsed but is wrong, such as a
	// decrypted plaintext that differs from what was encrypted.
	ErrBadResponse = errors.New("bad response")
	// ErrProcStat reports a /proc/PID/stat that could not be read or parsed.
	ErrProcStat = errors.New("cannot read process CPU time")
)
