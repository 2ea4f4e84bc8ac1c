//go:build !linux

package audit

// writeBack and dropCached are page-cache hints that only Linux gets
// (writeback_linux.go); elsewhere the kernel's own writeback applies.
func writeBack(g *segment) { g.kicked = g.written }

func dropCached(g *segment) {}
