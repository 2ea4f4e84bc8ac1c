//go:build !keyraft_testknobs

package config

import "flag"

// TestKnobsBuilt is true only in binaries built with -tags
// keyraft_testknobs, the only ones that accept the -test-* flags.
const TestKnobsBuilt = false

// registerTestKnobs adds nothing to a release build: the -test-* flags
// exist only in binaries built with -tags keyraft_testknobs.
func registerTestKnobs(*flag.FlagSet, *Node) {}
