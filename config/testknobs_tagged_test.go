//go:build keyraft_testknobs

package config

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestTestKnobsSetTheirSettings: in a test build the -test-* flags reach
// the node's configuration; the clock offset file moves Wall.
func TestTestKnobsSetTheirSettings(t *testing.T) {
	offset := filepath.Join(t.TempDir(), "offset")
	if err := os.WriteFile(offset, []byte("1440h\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	n, err := loadArgs(t, "-node-id", "n1", "-data-dir", "/d",
		"-test-day-length", "10s", "-test-audit-segment-size", "4096", "-test-clock-offset-file", offset)
	if err != nil {
		t.Fatal(err)
	}
	if n.DayLength != 10*time.Second || n.AuditSegmentSize != 4096 || n.Wall == nil {
		t.Fatalf("day %s, segment %d, wall set %v", n.DayLength, n.AuditSegmentSize, n.Wall != nil)
	}
	if ahead := time.Until(n.Wall()); ahead < 1439*time.Hour || ahead > 1441*time.Hour {
		t.Fatalf("the wall clock is %s ahead, want 1440h", ahead)
	}
}
