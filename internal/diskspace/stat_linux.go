package diskspace

import (
	"fmt"
	"os"
	"syscall"
)

var errQuota error = syscall.EDQUOT

// Stat returns the bytes an unprivileged writer may still use on dir's
// filesystem, and the filesystem's size.
func Stat(dir string) (free, total uint64, err error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return 0, 0, fmt.Errorf("statfs %s: %w", dir, err)
	}
	return st.Bavail * uint64(st.Bsize), st.Blocks * uint64(st.Bsize), nil
}

// allocate gives f size bytes of real blocks (not a sparse hole, which
// would free nothing when deleted).
func allocate(f *os.File, size int64) error {
	if err := syscall.Fallocate(int(f.Fd()), 0, 0, size); err == nil {
		return nil
	}
	return writeZeros(f, size)
}
