package wipe

import (
	"runtime/metrics"
	"sync"
)

// stacks overwrites the stack memory the runtime holds free. Goroutine
// stacks are carved, unzeroed, from heap pages: a page freed with a secret
// in it (a request buffer, say) and taken for stacks before Heap's fills
// keeps the secret in every stack slot no goroutine has written over since,
// and the fills, which only reach the heap's objects and pages, never see
// it. So, for each stack
// size, it starts goroutines that grow their stacks to that size writing
// zeros over every frame, and holds them until new stack spans are taken:
// by then every free slot of that size has been handed out and written.
// The lowest bytes of a slot (the guard that only the runtime's own
// frames use) and the unused part of live goroutines' stacks may escape it.
func stacks() {
	// The caller's own stack, below its frame: what Heap's callers left
	// there when they returned.
	dig(digDepth(16 << 10))
	for _, size := range []int{2 << 10, 4 << 10, 8 << 10, 16 << 10, 32 << 10} {
		depth := digDepth(size)
		release := make(chan struct{})
		start := stackBytes()
		for n := 0; n < maxDiggers && stackBytes() < start+fresh; n += diggerBatch {
			var dug sync.WaitGroup
			for range diggerBatch {
				dug.Add(1)
				go func() {
					dig(depth)
					dug.Done()
					<-release
				}()
			}
			dug.Wait()
		}
		close(release)
	}
}

// maxDiggers bounds the goroutines stacks starts for one size, and so the
// memory a seal borrows (32 KiB stacks: 64 MiB at most).
const (
	maxDiggers  = 2048
	diggerBatch = 16
)

// digFrame is the stack a dig frame takes, a little more than its pad.
const digFrame = 512

// digDepth is how many dig frames fill most of a stack of size bytes
// without making it grow beyond it.
func digDepth(size int) int {
	return max(0, (size-1024)/digFrame-1)
}

// dig writes zeros over n frames of the calling goroutine's stack.
//
//go:noinline
func dig(n int) byte {
	var pad [digFrame - 32]byte
	if n > 0 {
		pad[n%len(pad)] = dig(n - 1)
	}
	return pad[(n*7)%len(pad)]
}

// stackSample is stackBytes' metric, made once so reading it allocates
// nothing. Guarded by heapMu.
var stackSample = []metrics.Sample{{Name: "/memory/classes/heap/stacks:bytes"}}

// stackBytes is the heap memory held for goroutine stacks, in use or free.
func stackBytes() uint64 {
	metrics.Read(stackSample)
	return stackSample[0].Value.Uint64()
}
