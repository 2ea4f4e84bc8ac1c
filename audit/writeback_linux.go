package audit

import "golang.org/x/sys/unix"

// writeBack starts the writeback of what g took since the last call
// (sync_file_range without a wait flag returns once it is queued) and
// drops the chunk before it, whose writeback started a call earlier, from
// the page cache. Both are hints: their errors change nothing the store
// relies on.
func writeBack(g *segment) {
	fd := int(g.f.Fd())
	_ = unix.SyncFileRange(fd, g.kicked, g.written-g.kicked, unix.SYNC_FILE_RANGE_WRITE)
	if g.kicked > g.dropped {
		_ = unix.Fadvise(fd, g.dropped, g.kicked-g.dropped, unix.FADV_DONTNEED)
		g.dropped = g.kicked
	}
	g.kicked = g.written
}

// dropCached drops a segment the writer has sealed (and synced) from the
// page cache.
func dropCached(g *segment) {
	_ = unix.Fadvise(int(g.f.Fd()), 0, 0, unix.FADV_DONTNEED)
	g.kicked, g.dropped = g.written, g.written
}
