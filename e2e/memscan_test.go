package e2e

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// secretPattern is one byte string that must not be found in a process's
// memory, with a name that says what it is (never the bytes themselves).
type secretPattern struct {
	name  string
	bytes []byte
}

// memHit is one place a pattern was found: the mapping and the offset.
type memHit struct {
	pattern string
	addr    uint64
	region  string // the /proc/PID/maps line of the mapping
}

func (h memHit) String() string {
	return fmt.Sprintf("%s at %#x in %s", h.pattern, h.addr, h.region)
}

// scanMemory reads every readable mapping of process pid through
// /proc/PID/mem and reports where any of the patterns occurs. It needs
// the rights of a debugger over pid (root, or the same user with ptrace
// allowed): it is the attacker who reads a sealed node's memory.
func scanMemory(pid int, patterns []secretPattern) ([]memHit, error) {
	maps, err := os.Open(fmt.Sprintf("/proc/%d/maps", pid))
	if err != nil {
		return nil, err
	}
	defer maps.Close()
	mem, err := os.Open(fmt.Sprintf("/proc/%d/mem", pid))
	if err != nil {
		return nil, err
	}
	defer mem.Close()
	longest := 0
	for _, p := range patterns {
		longest = max(longest, len(p.bytes))
	}
	var hits []memHit
	readable := 0
	sc := bufio.NewScanner(maps)
	for sc.Scan() {
		line := sc.Text()
		f := strings.Fields(line)
		if len(f) < 2 || f[1][0] != 'r' {
			continue
		}
		lo, hi, ok := strings.Cut(f[0], "-")
		if !ok {
			return nil, fmt.Errorf("maps line %q", line)
		}
		start, err1 := strconv.ParseUint(lo, 16, 64)
		end, err2 := strconv.ParseUint(hi, 16, 64)
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("maps line %q", line)
		}
		if len(f) >= 6 && f[5] == "[vvar]" || len(f) >= 6 && f[5] == "[vsyscall]" {
			continue // kernel pages that /proc/PID/mem will not read
		}
		n, found, err := scanRegion(mem, start, end, patterns, longest)
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", line, err)
		}
		readable += n
		for _, h := range found {
			h.region = line
			hits = append(hits, h)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if readable == 0 {
		return nil, errors.New("no memory could be read")
	}
	return hits, nil
}

// scanRegion scans [start, end) in chunks that overlap by longest-1 bytes,
// so that no occurrence straddling two chunks is missed.
func scanRegion(mem io.ReaderAt, start, end uint64, patterns []secretPattern, longest int) (int, []memHit, error) {
	const chunk = 4 << 20
	buf := make([]byte, chunk+longest)
	var hits []memHit
	read := 0
	for off := start; off < end; off += chunk {
		n := int(min(uint64(len(buf)), end-off))
		got, err := mem.ReadAt(buf[:n], int64(off))
		if err != nil && got == 0 {
			if off == start {
				return 0, nil, nil // an unreadable mapping (guard pages and the like)
			}
			return read, hits, err
		}
		read += got
		for _, p := range patterns {
			b := buf[:got]
			base := 0
			for {
				i := bytes.Index(b[base:], p.bytes)
				if i < 0 {
					break
				}
				addr := off + uint64(base+i)
				if addr-off < chunk || off+chunk >= end { // the next chunk reports overlaps
					hits = append(hits, memHit{pattern: p.name, addr: addr})
				}
				base += i + 1
			}
		}
	}
	return read, hits, nil
}
