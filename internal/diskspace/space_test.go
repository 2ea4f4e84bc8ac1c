package diskspace

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestParseSize(t *testing.T) {
	for _, c := range []struct {
		in   string
		want uint64
	}{
		{"0", 0}, {"256MiB", 256 << 20}, {"1GiB", 1 << 30}, {"512MB", 512e6}, {"16M", 16 << 20},
		{"4096", 4096}, {" 2 KiB ", 2048}, {"3B", 3}, {"1TiB", 1 << 40},
	} {
		got, err := ParseSize(c.in)
		if err != nil || got != c.want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", c.in, got, err, c.want)
		}
	}
	for _, bad := range []string{"", "MiB", "-1", "1.5GiB", "12 apples", "99999999999999999999", "20000000TiB", "0x10"} {
		if n, err := ParseSize(bad); err == nil {
			t.Errorf("ParseSize(%q) = %d, want an error", bad, n)
		}
	}
}

// FuzzParseSize: any input either fails or gives a size that formats and
// parses back within a unit's rounding, and nothing panics.
func FuzzParseSize(f *testing.F) {
	for _, s := range []string{"256MiB", "0", "1GiB", "12 KB", "-1", "1e9", "18446744073709551615", "18446744073709551616B"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := ParseSize(s)
		if err != nil {
			return
		}
		if again, err := ParseSize(fmt.Sprint(n)); err != nil || again != n {
			t.Fatalf("%q = %d does not parse back: %d %v", s, n, again, err)
		}
		if !strings.HasSuffix(FormatSize(n), "B") {
			t.Fatalf("FormatSize(%d) = %q", n, FormatSize(n))
		}
	})
}

// TestReserveGivesBackItsSpace fills a real tmpfs and checks that releasing
// the reserve frees its size, and that it is made again only with room.
func TestReserveGivesBackItsSpace(t *testing.T) {
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Fatalf("this test mounts a tmpfs and needs root (CI runs as root): %v: %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("umount", "-l", dir).Run() })
	r := NewReserve(filepath.Join(dir, "reserve"), 4<<20)
	if err := r.Ensure(1<<20, dir); err != nil || !r.Held() {
		t.Fatalf("Ensure with room: held=%v %v", r.Held(), err)
	}
	fill, err := os.Create(filepath.Join(dir, "fill"))
	if err != nil {
		t.Fatal(err)
	}
	defer fill.Close()
	for {
		if _, err := fill.Write(make([]byte, 1<<20)); err != nil {
			if !IsNoSpace(err) {
				t.Fatalf("filling: %v is not a no-space error", err)
			}
			break
		}
	}
	if free, _, _ := Stat(dir); free != 0 {
		t.Fatalf("%d bytes free after filling", free)
	}
	if !r.Release() {
		t.Fatal("Release found no reserve")
	}
	if free, _, _ := Stat(dir); free < 4<<20 {
		t.Fatalf("%d bytes free after releasing a 4 MiB reserve", free)
	}
	if err := r.Ensure(1<<20, dir); err != nil || r.Held() {
		t.Fatalf("Ensure without room must not take the space back: held=%v %v", r.Held(), err)
	}
	if err := fill.Truncate(0); err != nil {
		t.Fatal(err)
	}
	if err := r.Ensure(1<<20, dir); err != nil || !r.Held() {
		t.Fatalf("Ensure once space returned: held=%v %v", r.Held(), err)
	}
}

func TestReasonHidesThePath(t *testing.T) {
	err := fmt.Errorf("write audit: %w", &os.PathError{Op: "write", Path: "/var/lib/keyraft/n1/raft.db", Err: syscall.ENOSPC})
	if got := Reason(err); got != "no space left on device" || !IsNoSpace(err) {
		t.Fatalf("Reason = %q, IsNoSpace = %v", got, IsNoSpace(err))
	}
}
