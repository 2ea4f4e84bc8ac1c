package cluster

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestIdentityIsKeptAndPrivate: the identity is made once, 0600, and read
// back unchanged; a damaged file is refused rather than replaced.
func TestIdentityIsKeptAndPrivate(t *testing.T) {
	dir := t.TempDir()
	first, err := loadIdentity(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(first) != 32 {
		t.Fatalf("identity %q", first)
	}
	fi, err := os.Stat(filepath.Join(dir, identityFile))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("identity file mode %v, want 0600", fi.Mode().Perm())
	}
	again, err := loadIdentity(dir)
	if err != nil || again != first {
		t.Fatalf("second start read %q (%v), want %q", again, err, first)
	}
	if other, err := loadIdentity(t.TempDir()); err != nil || other == first {
		t.Fatalf("another data dir: %q %v", other, err)
	}
	if err := os.WriteFile(filepath.Join(dir, identityFile), []byte("not hex\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := loadIdentity(dir); err == nil || !strings.Contains(err.Error(), "remove-peer") {
		t.Fatalf("damaged identity: %v", err)
	}
	b, _ := os.ReadFile(filepath.Join(dir, identityFile))
	if string(b) != "not hex\n" {
		t.Fatalf("the damaged file was replaced: %q", b)
	}
}
