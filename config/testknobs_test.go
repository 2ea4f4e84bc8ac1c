package config

import (
	"flag"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// testKnobs are the flags only a -tags keyraft_testknobs build knows.
var testKnobs = []string{"test-audit-segment-size", "test-clock-offset-file", "test-day-length", "test-reseal-batch", "test-reseal-interval"} // as VisitAll sorts them

// TestTestKnobsFollowTheBuildTag: this build has the -test-* flags exactly
// when it was built with the tag, and no others by that prefix.
func TestTestKnobsFollowTheBuildTag(t *testing.T) {
	n := Default()
	fs := flag.NewFlagSet("server", flag.ContinueOnError)
	newFlags(fs, &n)
	var have []string
	fs.VisitAll(func(f *flag.Flag) {
		if strings.HasPrefix(f.Name, "test-") {
			have = append(have, f.Name)
		}
	})
	if !TestKnobsBuilt && len(have) != 0 {
		t.Fatalf("a build without keyraft_testknobs has %q", have)
	}
	if TestKnobsBuilt && strings.Join(have, ",") != strings.Join(testKnobs, ",") {
		t.Fatalf("the test build has %q, want %q", have, testKnobs)
	}
}

// TestReleaseBuildHasNoTestKnobs runs this package's tests again built
// without the tag, whichever way this run was built, so that a release
// build is checked even from a test build's run.
func TestReleaseBuildHasNoTestKnobs(t *testing.T) {
	if !TestKnobsBuilt {
		for _, knob := range testKnobs {
			if _, err := loadArgs(t, "-node-id", "n1", "-data-dir", "/d", "-"+knob, "1"); err == nil ||
				!strings.Contains(err.Error(), "flag provided but not defined: -"+knob) {
				t.Errorf("a release build took -%s: %v", knob, err)
			}
		}
		return
	}
	cmd := exec.Command("go", "test", "-count=1", "-run", "^(TestTestKnobsFollowTheBuildTag|TestReleaseBuildHasNoTestKnobs|TestDeadServerCleanupFloor)$", ".")
	cmd.Env = append(os.Environ(), "GOFLAGS=")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("without the tag: %v\n%s", err, out)
	}
}

// TestDeadServerCleanupFloor: a production server refuses dead-server
// cleanup under a minute, as Vault does; only -dev and a test build (which
// the e2e harness builds) go down to a second. Run without the tag by
// TestReleaseBuildHasNoTestKnobs, so both builds are checked.
func TestDeadServerCleanupFloor(t *testing.T) {
	for _, tc := range []struct {
		dev, testBuild bool
		want           time.Duration
	}{{false, false, time.Minute}, {true, false, time.Second}, {false, true, time.Second}, {true, true, time.Second}} {
		if got := deadServerCleanupFloor(tc.dev, tc.testBuild); got != tc.want {
			t.Errorf("dev %v, test build %v: floor %s, want %s", tc.dev, tc.testBuild, got, tc.want)
		}
	}
	for _, d := range []string{"0", "1m", "24h"} {
		if n, err := loadArgs(t, "-node-id", "n1", "-data-dir", "/d", "-autopilot-dead-server-cleanup", d); err != nil || n.AutopilotDeadServerCleanup.String() != map[string]string{"0": "0s", "1m": "1m0s", "24h": "24h0m0s"}[d] {
			t.Errorf("cleanup %s: %v, %v", d, n.AutopilotDeadServerCleanup, err)
		}
	}
	// Seconds, as TestAutopilot (e2e) runs with: a -dev server takes them
	// in every build, a production one only in a test build.
	if _, err := loadArgs(t, "-dev", "-autopilot-dead-server-cleanup", "3s"); err != nil {
		t.Errorf("-dev with a 3s cleanup: %v", err)
	}
	_, err := loadArgs(t, "-node-id", "n1", "-data-dir", "/d", "-autopilot-dead-server-cleanup", "3s")
	if TestKnobsBuilt && err != nil {
		t.Errorf("the test build refused a 3s cleanup: %v", err)
	}
	if !TestKnobsBuilt && (err == nil || !strings.Contains(err.Error(), "-autopilot-dead-server-cleanup 3s: want 0 (never remove a server) or at least 1m0s")) {
		t.Errorf("a release build took a 3s cleanup: %v", err)
	}
}
