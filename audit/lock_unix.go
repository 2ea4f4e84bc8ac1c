//go:build unix

package audit

import (
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"
)

// lockDir takes an flock on the store's directory: exclusive for the node
// that writes, shared for offline readers, so that two processes never
// write one log and an offline verify never reads a log a running node is
// changing (as bbolt's file lock did before). It waits up to two seconds:
// a restarted node's predecessor may still be exiting.
func lockDir(dir string, exclusive bool) (*os.File, error) {
	d, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	how := syscall.LOCK_SH
	if exclusive {
		how = syscall.LOCK_EX
	}
	deadline := time.Now().Add(2 * time.Second)
	for {
		err := syscall.Flock(int(d.Fd()), how|syscall.LOCK_NB)
		if err == nil {
			return d, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) || time.Now().After(deadline) {
			d.Close()
			return nil, fmt.Errorf("%w: %v", ErrLocked, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
