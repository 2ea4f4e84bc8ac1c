//go:build !unix

package audit

import "os"

// lockDir holds the directory open without a lock: keyraft nodes run on
// Linux, where lock_unix.go applies; elsewhere the operator must not run
// two processes on one data dir.
func lockDir(dir string, exclusive bool) (*os.File, error) {
	return os.Open(dir)
}
