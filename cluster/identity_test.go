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
	pub, ok := parseIdentity(publicIdentity(first))
	if !ok || !pub.Equal(first.Public()) {
		t.Fatalf("public identity %q does not parse back", publicIdentity(first))
	}
	fi, err := os.Stat(filepath.Join(dir, identityFile))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("identity file mode %v, want 0600", fi.Mode().Perm())
	}
	again, err := loadIdentity(dir)
	if err != nil || !again.Equal(first) {
		t.Fatalf("second start read another key (%v)", err)
	}
	if other, err := loadIdentity(t.TempDir()); err != nil || other.Equal(first) {
		t.Fatalf("another data dir: same key or %v", err)
	}
	// Not hex; the old random format (16 bytes), never released; a seed
	// cut short.
	for _, bad := range []string{"not hex\n", "00112233445566778899aabbccddeeff\n", strings.Repeat("ab", 31) + "\n"} {
		if err := os.WriteFile(filepath.Join(dir, identityFile), []byte(bad), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := loadIdentity(dir); err == nil || !strings.Contains(err.Error(), "remove-peer") {
			t.Fatalf("damaged identity %q: %v", bad, err)
		}
		b, _ := os.ReadFile(filepath.Join(dir, identityFile))
		if string(b) != bad {
			t.Fatalf("the damaged file was replaced: %q", b)
		}
	}
}
