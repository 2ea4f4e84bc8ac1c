package config

import (
	"strings"
	"testing"
)

// TestSeedOnlyWithDev: fixed ids and key material are for tests; a server
// not in -dev mode refuses -seed, from the command line or a config file.
func TestSeedOnlyWithDev(t *testing.T) {
	if _, err := loadArgs(t, "-node-id", "n1", "-data-dir", "/d", "-seed", "keys.yaml"); err == nil || !strings.Contains(err.Error(), "-seed") {
		t.Fatalf("-seed without -dev: %v, want refused naming -seed", err)
	}
	file := writeFile(t, `{"node-id": "n1", "data-dir": "/d", "seed": "keys.yaml"}`)
	if _, err := loadArgs(t, "-config", file); err == nil {
		t.Fatal("seed in a non-dev config file taken, want refused")
	}
	n, err := loadArgs(t, "-dev", "-seed", "keys.yaml")
	if err != nil || n.Seed != "keys.yaml" {
		t.Fatalf("-dev -seed: %+v, %v", n.Seed, err)
	}
}
