// Package memlock keeps a keyraft process's secrets out of swap and core
// dumps: it locks the process's memory in RAM (mlockall, as Vault does)
// and turns core dumps off. Both are Linux features; elsewhere Lock and
// DisableCoreDumps report ErrUnsupported.
package memlock

import "errors"

// ErrUnsupported: this operating system has no such control here.
var ErrUnsupported = errors.New("not supported on this operating system")

// Advice is what an operator whose node could not lock its memory can do.
const Advice = "raise the memlock limit of the keyraft user (`ulimit -l unlimited`; systemd LimitMEMLOCK=infinity; " +
	"docker --ulimit memlock=-1) or give the binary CAP_IPC_LOCK (setcap cap_ipc_lock=+ep), " +
	"or pass -disable-mlock where swap is encrypted or absent"
