package node

import (
	"path/filepath"

	"github.com/hashicorp/go-hclog"

	"github.com/keyraft/keyraft/internal/diskspace"
)

// maxReserve bounds the reserve file; a quarter of -min-free-disk below it.
const maxReserve = 64 << 20

// reserveFileName is the reserve's file in the data dir.
const reserveFileName = "disk-reserve"

// diskReserve is the data dir's reserve (diskspace.Reserve): a quarter of
// -min-free-disk, at most 64 MiB, none without -min-free-disk. A node that
// starts with less free space than -min-free-disk gives it back at once, so
// that Raft can save its term, elect and replay on a full disk; the node
// makes it again once there is room.
func diskReserve(cfg Config, log hclog.Logger) *diskspace.Reserve {
	size := int64(min(cfg.MinFreeDisk/4, maxReserve))
	if size == 0 {
		return nil
	}
	r := diskspace.NewReserve(filepath.Join(cfg.DataDir, reserveFileName), size)
	if free, _, err := diskspace.Stat(cfg.DataDir); err == nil && free < cfg.MinFreeDisk && r.Release() {
		log.Warn("the data dir is short of space at start: released the disk reserve; writes are refused until space is freed",
			"free", diskspace.FormatSize(free), "min_free_disk", diskspace.FormatSize(cfg.MinFreeDisk))
	}
	return r
}
