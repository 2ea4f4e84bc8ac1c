package memlock

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// Lock locks every page the process has mapped and will map into RAM, so
// that no key is ever written to swap. It fails (EPERM or ENOMEM) when the
// process may lock less memory than it maps: RLIMIT_MEMLOCK without
// CAP_IPC_LOCK.
func Lock() error {
	if err := unix.Mlockall(unix.MCL_CURRENT | unix.MCL_FUTURE); err != nil {
		return fmt.Errorf("mlockall: %w", err)
	}
	return nil
}

// DisableCoreDumps sets RLIMIT_CORE to zero, so a crash writes no core
// file holding the unsealed keys, and marks the process not dumpable,
// which also keeps processes of the same user without CAP_SYS_PTRACE from
// attaching to it or reading /proc/PID/mem.
func DisableCoreDumps() error {
	if err := unix.Setrlimit(unix.RLIMIT_CORE, &unix.Rlimit{Cur: 0, Max: 0}); err != nil {
		return fmt.Errorf("setrlimit RLIMIT_CORE: %w", err)
	}
	if err := unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0); err != nil {
		return fmt.Errorf("prctl PR_SET_DUMPABLE: %w", err)
	}
	return nil
}
