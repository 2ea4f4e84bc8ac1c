package wipe

import (
	"bufio"
	"crypto/rand"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"unsafe"
)

// mask hides the secret of TestHeap from the scan: the test keeps it only
// XORed with mask, so a hit is a copy the test dropped.
const mask = 0xa5

// TestHeap: copies of a secret in dropped objects of many sizes, small and
// large, are gone from the process's memory once Heap has run; before, the
// scan finds them. The one documented escape (see Heap) is an OS thread
// started after the secret was dropped, whose stacks come unzeroed from
// freed pages no Go code reaches: a round in which the process gained a
// thread and kept a copy is run again with a new secret; a round that kept
// a copy without one fails.
func TestHeap(t *testing.T) {
	prewarmThreads(16)
	for round := 1; ; round++ {
		before := threads(t)
		n := heapRound(t)
		if n == 0 {
			return
		}
		if after := threads(t); after != before && round < 5 {
			t.Logf("round %d: %d copies remain and the process went from %d to %d threads meanwhile; again with a new secret", round, n, before, after)
			continue
		}
		t.Fatalf("round %d: %d dropped copies of the secret remain after Heap ran twice", round, n)
	}
}

// heapRound drops copies of a new secret, checks the scan finds them, runs
// Heap (twice if the first pass missed a slot the allocator had set
// aside) and returns how many copies remain.
func heapRound(t *testing.T) int {
	masked := make([]byte, 32)
	if _, err := rand.Read(masked); err != nil {
		t.Fatal(err)
	}
	drop := func() {
		// From 48 bytes (a slice of up to 32 may live on the stack, which
		// Heap does not reach) to 32 KiB, the largest small object: the
		// sizes of the buffers net/http, crypto/tls and encoding/json pool.
		// Heap also takes free pages, where larger objects were, but not
		// every time (see its doc).
		for _, size := range []int{48, 64, 100, 1000, 4096, 5000, 16384, 32768} {
			for range 4 {
				b := make([]byte, size)
				for i := range masked {
					b[size-len(masked)+i] = masked[i] ^ mask
				}
				runtime.KeepAlive(b)
			}
		}
	}
	// On a goroutine of its own, whose stack (where the compiler may keep
	// a copy) is freed when it ends, as a request's goroutine's is.
	var wg sync.WaitGroup
	wg.Go(drop)
	wg.Wait()
	runtime.GC()
	if n := countUnmasked(t, masked); n == 0 {
		t.Fatal("dropped copies are not found before Heap: the scan finds nothing")
	}
	Heap()
	n := countUnmasked(t, masked)
	if n != 0 {
		t.Logf("%d dropped copies of the secret remain after Heap; running it again", n)
		Heap()
		n = countUnmasked(t, masked)
	}
	return n
}

// threads is the number of OS threads of this process.
func threads(t *testing.T) int {
	t.Helper()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "Threads:"); ok {
			n, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatal("no Threads line in /proc/self/status")
	return 0
}

// prewarmThreads makes the runtime start n OS threads now, which it then
// keeps idle and reuses. A thread started later takes its system and
// signal stacks from freed heap pages without zeroing them, where no Go
// code can reach (see Heap): the scans' blocking reads would start such
// threads under load, over pages that held the dropped copies. A server
// has its threads long before it seals.
func prewarmThreads(n int) {
	var started, release sync.WaitGroup
	started.Add(n)
	release.Add(1)
	for range n {
		go func() {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread() // unlocked, the thread stays for reuse
			started.Done()
			release.Wait()
		}()
	}
	started.Wait()
	release.Done()
}

// countUnmasked counts the places in this process's memory that hold
// masked XOR mask, comparing on the fly so the test never makes a copy.
func countUnmasked(t *testing.T, masked []byte) int {
	t.Helper()
	maps, err := os.Open("/proc/self/maps")
	if err != nil {
		t.Fatal(err)
	}
	defer maps.Close()
	mem, err := os.Open("/proc/self/mem")
	if err != nil {
		t.Fatal(err)
	}
	defer mem.Close()
	buf := make([]byte, 1<<20)
	defer clear(buf) // it may have read a copy: the test must not leave one
	bufAt := uint64(uintptr(unsafe.Pointer(&buf[0])))
	found := 0
	sc := bufio.NewScanner(maps)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 2 || f[1][0] != 'r' || len(f) >= 6 && strings.HasPrefix(f[5], "[v") {
			continue
		}
		lo, hi, _ := strings.Cut(f[0], "-")
		start, _ := strconv.ParseUint(lo, 16, 64)
		end, _ := strconv.ParseUint(hi, 16, 64)
		for off := start; off < end; off += uint64(len(buf)) {
			n, _ := mem.ReadAt(buf[:min(uint64(len(buf)), end-off)], int64(off))
			for i := 0; i+len(masked) <= n; i++ {
				if buf[i]^mask != masked[0] {
					continue
				}
				j := 1
				for j < len(masked) && buf[i+j]^mask == masked[j] {
					j++
				}
				if addr := off + uint64(i); j == len(masked) && (addr < bufAt || addr >= bufAt+uint64(len(buf))) {
					found++
				}
			}
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(fmt.Errorf("maps: %w", err))
	}
	return found
}
