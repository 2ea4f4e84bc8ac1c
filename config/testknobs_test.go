package config

import (
	"flag"
	"os"
	"os/exec"
	"strings"
	"testing"
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
	cmd := exec.Command("go", "test", "-count=1", "-run", "^(TestTestKnobsFollowTheBuildTag|TestReleaseBuildHasNoTestKnobs)$", ".")
	cmd.Env = append(os.Environ(), "GOFLAGS=")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("without the tag: %v\n%s", err, out)
	}
}
