package bench

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"strconv"
	"sync"
	"time"
)

// procCPU is the user plus system CPU time that process pid has used so far,
// from fields 14 and 15 (utime, stime) of /proc/PID/stat. Pass 0 for this
// process. It counts every thread but not reaped children.
func procCPU(pid int) (time.Duration, error) {
	name := "/proc/self/stat"
	if pid != 0 {
		name = "/proc/" + strconv.Itoa(pid) + "/stat"
	}
	b, err := os.ReadFile(name)
	if err != nil {
		return 0, fmt.Errorf("%w: %w", ErrProcStat, err)
	}
	ticks, err := parseStatTicks(b)
	if err != nil {
		return 0, fmt.Errorf("%w: %s: %w", ErrProcStat, name, err)
	}
	hz := clockTicks()
	return time.Duration(ticks/hz)*time.Second + time.Duration(ticks%hz)*time.Second/time.Duration(hz), nil
}

// parseStatTicks returns utime+stime from the text of a /proc/PID/stat. The
// command name (field 2) is in parentheses and may contain spaces and
// parentheses, so fields are counted from the last ')'.
func parseStatTicks(b []byte) (uint64, error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("no command name")
	}
	f := bytes.Fields(b[i+1:]) // f[0] is field 3 (state), so field n is f[n-3]
	if len(f) < 15-3+1 {
		return 0, fmt.Errorf("%d fields after the command name, want at least 13", len(f))
	}
	utime, err := strconv.ParseUint(string(f[14-3]), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("utime: %w", err)
	}
	stime, err := strconv.ParseUint(string(f[15-3]), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("stime: %w", err)
	}
	return utime + stime, nil
}

// atClkTck is the auxiliary vector entry holding sysconf(_SC_CLK_TCK).
const atClkTck = 17

var clockTicks = sync.OnceValue(func() uint64 {
	if hz := auxvClockTicks(); hz > 0 {
		return hz
	}
	return 100 // USER_HZ on every Linux architecture Go supports
})

// auxvClockTicks reads AT_CLKTCK from /proc/self/auxv, the value glibc's
// sysconf(_SC_CLK_TCK) returns; 0 if it cannot.
func auxvClockTicks() uint64 {
	b, err := os.ReadFile("/proc/self/auxv")
	if err != nil {
		return 0
	}
	word := strconv.IntSize / 8
	for ; len(b) >= 2*word; b = b[2*word:] {
		var key, val uint64
		if word == 8 {
			key, val = binary.NativeEndian.Uint64(b), binary.NativeEndian.Uint64(b[8:])
		} else {
			key, val = uint64(binary.NativeEndian.Uint32(b)), uint64(binary.NativeEndian.Uint32(b[4:]))
		}
		if key == atClkTck {
			return val
		}
		if key == 0 {
			break
		}
	}
	return 0
}

// cpuEach is the CPU time of each of the given processes, in their order.
func cpuEach(pids []int) ([]time.Duration, error) {
	each := make([]time.Duration, len(pids))
	for i, p := range pids {
		d, err := procCPU(p)
		if err != nil {
			return nil, fmt.Errorf("pid %d: %w", p, err)
		}
		each[i] = d
	}
	return each, nil
}
