package wipe

import (
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
	"unsafe"
)

// Heap overwrites with zeros, as far as it can, the memory the Go heap
// holds free: objects dropped but not yet reused, among them the buffers
// that net/http, crypto/tls, encoding/json and fmt pool and never clear
// (request bodies, answers). It is best effort by nature (the runtime
// offers no such call) and relies on two properties of the allocator: an
// object is zeroed when its slot is handed out again, and a size class's
// partly used spans are all handed out before a new span is taken. So,
// after two collections (the second empties sync.Pools' victim caches),
// Heap allocates objects of every size class, pointer-free and not, until
// the heap takes a new span for it, then takes every free page, and drops
// all it took. What another goroutine allocates meanwhile, goroutine
// stacks and what the allocator keeps per P may escape it.
//
// A node calls it when it seals, after zeroing every secret it holds, so
// that copies it could not reach (a share in an HTTP read buffer, say) do
// not outlive the seal. It costs some milliseconds and, for that time, as
// much memory as the heap had free.
func Heap() {
	heapMu.Lock()
	defer heapMu.Unlock()
	// One P for the duration: the others are torn down, which returns the
	// spans, pages and stacks they cached to the heap, where the fills
	// below reach them, and nothing allocates in parallel with them.
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	runtime.GC()
	runtime.GC()
	// No collection while filling: it would free (and so unfill) slots
	// behind the fill, or move spans between caches.
	gcPercent := debug.SetGCPercent(-1)
	// The fills cannot need more than the heap's free slots and pages, plus
	// the new spans each class takes before it stops: a bound on the
	// memory a seal borrows, whatever the metrics say.
	inUse, free := heapSpans()
	f := &filler{budget: inUse + free + uint64(2*len(sizeClasses))*fresh}
	for _, size := range sizeClasses {
		f.class(size)
	}
	f.pages()
	stacks()
	hold := f.hold
	runtime.KeepAlive(hold)
	clear(hold)
	hold = nil
	debug.SetGCPercent(gcPercent)
	runtime.GC()
	debug.FreeOSMemory() // returns free pages to the system, unless memory is locked
}

// sizeClasses are the Go allocator's small-object size classes
// (runtime/sizeclasses.go) from 16 bytes up: a secret is never smaller.
var sizeClasses = []int{16, 24, 32, 48, 64, 80, 96, 112, 128, 144, 160, 176, 192, 208, 224, 240, 256,
	288, 320, 352, 384, 416, 448, 480, 512, 576, 640, 704, 768, 896, 1024, 1152, 1280, 1408, 1536, 1792,
	2048, 2304, 2688, 3072, 3200, 3456, 4096, 4864, 5376, 6144, 6528, 6784, 6912, 8192, 9472, 9728,
	10240, 10880, 12288, 13568, 14336, 16384, 18432, 19072, 20480, 21760, 24576, 27264, 28672, 32768}

// samples are heapSpans' metrics, made once: an allocation there could
// take a span and end a fill early. Guarded by heapMu.
var samples = []metrics.Sample{
	{Name: "/memory/classes/heap/objects:bytes"},
	{Name: "/memory/classes/heap/unused:bytes"},
	{Name: "/memory/classes/heap/free:bytes"},
}

// heapMu lets one Heap run at a time.
var heapMu sync.Mutex

// heapSpans is the memory of the heap's spans in use, and free its free
// pages not returned to the system.
func heapSpans() (inUse, free uint64) {
	metrics.Read(samples)
	return samples[0].Value.Uint64() + samples[1].Value.Uint64(), samples[2].Value.Uint64()
}

// fresh is how much new span memory a fill takes before it stops: more than
// one span, so that a span taken for something else meanwhile cannot stop
// it before it has used every partly free span of its class.
const fresh = 64 << 10

// filler holds what the fills allocated, until Heap drops it all.
type filler struct {
	hold   []any
	taken  uint64 // bytes allocated so far
	budget uint64 // most bytes the fills may allocate
}

// class allocates objects of size bytes, without and with pointers (the
// allocator keeps them in different spans), until new spans are taken for
// them.
func (f *filler) class(size int) {
	batch := max(1, 8192/size)
	for _, pointers := range []bool{false, true} {
		before, _ := heapSpans()
		for f.taken < f.budget {
			held := cap(f.hold)
			for range batch {
				if pointers {
					f.hold = append(f.hold, make([]unsafe.Pointer, size/int(unsafe.Sizeof(unsafe.Pointer(nil)))))
				} else {
					f.hold = append(f.hold, make([]byte, size))
				}
			}
			f.taken += uint64(batch * size)
			now, _ := heapSpans()
			if cap(f.hold) != held {
				before = now // hold itself grew: that span is not one of ours
				continue
			}
			if now >= before+fresh {
				break
			}
		}
	}
}

// pages takes the heap's free pages, large chunks first, and holds
// them. A chunk may come from pages the P had cached (not counted
// free) or from new ones when no free run is large enough, so each size
// stops at a bound rather than when free stops falling.
func (f *filler) pages() {
	for _, chunk := range []int{1 << 20, 64 << 10, 8 << 10} {
		_, free := heapSpans()
		bound := free + 64*8192 // a P caches up to 64 pages
		for taken := uint64(0); taken < bound && f.taken < f.budget; taken += uint64(chunk) {
			if _, free := heapSpans(); free < uint64(chunk) {
				break
			}
			f.hold = append(f.hold, make([]byte, chunk))
			f.taken += uint64(chunk)
		}
	}
}
