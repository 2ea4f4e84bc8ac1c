package main

import (
	"fmt"

	"github.com/hashicorp/go-hclog"

	"github.com/keyraft/keyraft/internal/memlock"
)

// protectMemory locks the server's memory and turns core dumps off before
// it holds any secret. A server that cannot lock its memory refuses to
// start, as Vault does, unless it was told -disable-mlock: a key written
// to swap outlives every seal. A -dev server only warns (it is a
// playground, as Vault's dev mode skips mlock).
func protectMemory(log hclog.Logger, dev, disableMlock, enableCoreDumps bool) error {
	if enableCoreDumps {
		log.Warn("core dumps are enabled (-enable-core-dumps): a crash may write unsealed keys to disk")
	} else if err := memlock.DisableCoreDumps(); err != nil {
		log.Warn("could not disable core dumps", "error", err)
	}
	if disableMlock {
		log.Warn("memory is not locked (-disable-mlock): unsealed keys may be written to swap")
		return nil
	}
	err := memlock.Lock()
	switch {
	case err == nil:
		return nil
	case dev:
		log.Warn("could not lock memory; unsealed keys may be written to swap", "error", err, "fix", memlock.Advice)
		return nil
	default:
		return fmt.Errorf("could not lock memory, so unsealed keys could be written to swap (%v): %s", err, memlock.Advice)
	}
}
