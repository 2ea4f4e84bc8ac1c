package bench

import (
	"crypto/sha256"
	"os"
	"testing"
	"time"
)

func TestParseStatTicks(t *testing.T) {
	// A command name with spaces and parentheses must not shift the fields.
	line := "1234 (a b) c)) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 75 0 0 20 0 8 0 12345 1000000 500 18446744073709551615\n"
	got, err := parseStatTicks([]byte(line))
	if err != nil {
		t.Fatal(err)
	}
	if got != 325 {
		t.Fatalf("ticks = %d, want 250+75", got)
	}
	if _, err := parseStatTicks([]byte("1 (x) S 1 2")); err == nil {
		t.Fatal("short line parsed")
	}
}

func TestClockTicks(t *testing.T) {
	if hz := clockTicks(); hz == 0 || hz > 10000 {
		t.Fatalf("clock ticks per second = %d", hz)
	}
}

func TestProcCPUOfSelfIsMonotonicAndGrows(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc:", err)
	}
	before, err := procCPU(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	prev := before
	// Burn CPU until at least three clock ticks' worth is recorded, checking
	// that the reading never goes backwards; give up after 10 s of wall time.
	want := 3 * time.Second / time.Duration(clockTicks())
	deadline := time.Now().Add(10 * time.Second)
	sum := sha256.Sum256(nil)
	for {
		for range 10_000 {
			sum = sha256.Sum256(sum[:])
		}
		now, err := procCPU(0)
		if err != nil {
			t.Fatal(err)
		}
		if now < prev {
			t.Fatalf("CPU time went backwards: %s then %s", prev, now)
		}
		prev = now
		if now-before >= want {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("CPU time grew by only %s after 10 s of hashing", now-before)
		}
	}
	if prev <= 0 {
		t.Fatalf("CPU time %s, want > 0", prev)
	}
	if _, err := procCPU(1 << 30); err == nil {
		t.Fatal("reading a pid that does not exist succeeded")
	}
}
