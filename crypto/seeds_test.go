package crypto

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// TestWriteSeeds regenerates the committed fuzz seed corpus under
// testdata/fuzz. It runs only with KEYRAFT_WRITE_SEEDS=1:
//
//	KEYRAFT_WRITE_SEEDS=1 go test ./crypto -run TestWriteSeeds
func TestWriteSeeds(t *testing.T) {
	if os.Getenv("KEYRAFT_WRITE_SEEDS") != "1" {
		t.Skip("set KEYRAFT_WRITE_SEEDS=1 to regenerate testdata/fuzz")
	}
	for i, b := range blobSeeds(t) {
		writeSeed(t, "FuzzParseBlob", fmt.Sprintf("seed-%02d", i), b)
	}
	for i, p := range contextSeeds {
		writeSeed(t, "FuzzCanonicalContext", fmt.Sprintf("seed-%02d", i), p[0], p[1])
	}
	writeImportWrapSeeds(t)
}

// writeSeed writes one corpus file in Go's "go test fuzz v1" format.
func writeSeed(t *testing.T, target, name string, args ...[]byte) {
	t.Helper()
	dir := filepath.Join("testdata", "fuzz", target)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	content := "go test fuzz v1\n"
	for _, a := range args {
		content += fmt.Sprintf("[]byte(%+q)\n", a)
	}
	if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
