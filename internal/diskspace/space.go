package diskspace

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"syscall"
)

// IsNoSpace reports whether err is a write refused for lack of space (a
// full filesystem or an exhausted quota): a condition that passes once
// space is freed, unlike a failing device.
func IsNoSpace(err error) bool {
	return errors.Is(err, syscall.ENOSPC) || errors.Is(err, errQuota)
}

// Reason is what a no-space error says without its file path ("no space
// left on device"): alarms and client errors name the cause, not the
// layout of the node's disk.
func Reason(err error) string {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return errno.Error()
	}
	return "no space left on device"
}

var units = []struct {
	suffix string
	mult   uint64
}{
	{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10},
	{"TB", 1e12}, {"GB", 1e9}, {"MB", 1e6}, {"KB", 1e3},
	{"T", 1 << 40}, {"G", 1 << 30}, {"M", 1 << 20}, {"K", 1 << 10}, {"B", 1},
}

// ParseSize reads a byte count: a whole number with an optional unit (B,
// KiB, MiB, GiB, TiB; KB, MB, GB, TB in powers of ten; K, M, G, T as the
// binary ones), e.g. "256MiB", "1GiB", "0".
func ParseSize(s string) (uint64, error) {
	in := strings.TrimSpace(s)
	num, mult := in, uint64(1)
	for _, u := range units {
		if n, ok := strings.CutSuffix(in, u.suffix); ok {
			num, mult = strings.TrimSpace(n), u.mult
			break
		}
	}
	if num == "" || strings.IndexFunc(num, func(r rune) bool { return r < '0' || r > '9' }) >= 0 {
		return 0, fmt.Errorf("size %q: want a whole number with an optional unit, e.g. 256MiB", s)
	}
	n, err := strconv.ParseUint(num, 10, 64)
	if err != nil || (mult > 1 && n > ^uint64(0)/mult) {
		return 0, fmt.Errorf("size %q is too large", s)
	}
	return n * mult, nil
}

// FormatSize writes a byte count for people: "12.5 MiB".
func FormatSize(n uint64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
