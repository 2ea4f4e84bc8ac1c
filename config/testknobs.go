//go:build keyraft_testknobs

package config

import (
	"flag"
	"os"
	"strings"
	"sync"
	"time"
)

// TestKnobsBuilt is true only in binaries built with -tags
// keyraft_testknobs, the only ones that accept the -test-* flags.
const TestKnobsBuilt = true

// registerTestKnobs adds the flags that bend time and storage for tests.
// They exist only in test builds: a release binary does not know them, and
// no build takes them from a config file (applyFile).
func registerTestKnobs(fs *flag.FlagSet, cfg *Node) {
	fs.Int64Var(&cfg.AuditSegmentSize, "test-audit-segment-size", 0, "TESTING ONLY: bytes at which audit segments roll, the same on every node (default 64 MiB)")
	fs.DurationVar(&cfg.DayLength, "test-day-length", 0, "TESTING ONLY: the length of a 'day' in deletion windows and rotation periods (default 24h)")
	fs.IntVar(&cfg.ResealBatch, "test-reseal-batch", 0, "TESTING ONLY: values re-sealed per Raft entry after a keyring rotation (default 64)")
	fs.DurationVar(&cfg.ResealInterval, "test-reseal-interval", 0, "TESTING ONLY: pause between re-seal entries after a keyring rotation (default 100ms)")
	fs.Func("test-clock-offset-file", "TESTING ONLY: a file holding a duration (e.g. 1440h) added to this server's wall clock while the file says so, to jump it", func(path string) error {
		o := &offsetFile{path: path}
		cfg.Wall = o.now
		return nil
	})
}

// offsetFile is a wall clock shifted by the duration a file holds, read
// again at most every 50 ms (no file, or no duration in it: no shift).
type offsetFile struct {
	path string

	mu     sync.Mutex
	offset time.Duration
	read   time.Time
}

func (o *offsetFile) now() time.Time {
	o.mu.Lock()
	defer o.mu.Unlock()
	now := time.Now()
	if now.Sub(o.read) > 50*time.Millisecond {
		o.offset, o.read = 0, now
		if b, err := os.ReadFile(o.path); err == nil {
			if d, err := time.ParseDuration(strings.TrimSpace(string(b))); err == nil {
				o.offset = d
			}
		}
	}
	// Round(0) drops the monotonic reading, so the shift applies to every
	// use of the result, as a stepped system clock would.
	return now.Round(0).Add(o.offset)
}
