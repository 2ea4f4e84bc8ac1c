package seal

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// TestWriteSeeds regenerates the committed fuzz seed corpus under
// testdata/fuzz. It runs only with KEYRAFT_WRITE_SEEDS=1:
//
//	KEYRAFT_WRITE_SEEDS=1 go test ./seal -run TestWriteSeeds
func TestWriteSeeds(t *testing.T) {
	if os.Getenv("KEYRAFT_WRITE_SEEDS") != "1" {
		t.Skip("set KEYRAFT_WRITE_SEEDS=1 to regenerate testdata/fuzz")
	}
	dir := filepath.Join("testdata", "fuzz", "FuzzKeyringOpen")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for i, s := range keyringSeeds(t) {
		content := fmt.Sprintf("go test fuzz v1\n[]byte(%+q)\n", s)
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("seed-%02d", i)), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
