package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// binary is the keyraft executable built once for every test in this
// package, with the test knobs (-test-day-length, -test-clock-offset-file,
// ...), which exist only in a binary built with the keyraft_testknobs tag.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "keyraft-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "keyraft")
	flags := []string{"-tags", "keyraft_testknobs"}
	if os.Getenv("KEYRAFT_TEST_RACE") != "" { // race-check the servers the tests start
		flags = append(flags, "-race")
	}
	if err := buildKeyraft(binary, flags...); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// buildKeyraft builds ./cmd/keyraft into out with the given go build flags
// (none: a release build, without the test knobs).
func buildKeyraft(out string, flags ...string) error {
	args := append(append([]string{"build"}, flags...), "-o", out, "../cmd/keyraft")
	if b, err := exec.Command("go", args...).CombinedOutput(); err != nil {
		return fmt.Errorf("build keyraft: %v\n%s", err, b)
	}
	return nil
}

// pollEvery is how often waitFor and holdsFor look at their condition.
const pollEvery = 100 * time.Millisecond

// waitFor polls cond until it holds or the timeout passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() (bool, error)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var lastErr error
	for time.Now().Before(deadline) {
		ok, err := cond()
		if ok {
			return
		}
		lastErr = err
		time.Sleep(pollEvery)
	}
	t.Fatalf("timed out after %s waiting for %s (last error: %v)", timeout, what, lastErr)
}

// holdsFor polls cond for the whole of d and fails the first time it does
// not hold. It is for properties that are an absence (a removed peer does
// not come back): no event marks the end of "never", so the window is the
// behaviour under test, and each caller derives d from the interval of the
// loop that would break the property.
func holdsFor(t *testing.T, d time.Duration, what string, cond func() (bool, error)) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		if ok, err := cond(); !ok {
			t.Fatalf("%s stopped holding (%v)", what, err)
		}
		if !time.Now().Before(deadline) {
			return
		}
		time.Sleep(pollEvery)
	}
}

func ctxTimeout(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}
