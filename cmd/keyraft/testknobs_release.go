//go:build !keyraft_testknobs

package main

import (
	"flag"

	"github.com/keyraft/keyraft/node"
)

const testKnobsBuilt = false

// registerTestKnobs adds nothing to a release build: the -test-* flags
// exist only in binaries built with -tags keyraft_testknobs.
func registerTestKnobs(*flag.FlagSet, *node.Config) {}
