//go:build !linux

package memlock

// Lock is not supported here.
func Lock() error { return ErrUnsupported }

// DisableCoreDumps is not supported here.
func DisableCoreDumps() error { return ErrUnsupported }
