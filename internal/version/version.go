// Package version is keyraft's one version string: what `keyraft version`,
// status, seal-status, health and the start-up log line show.
package version

import (
	"runtime/debug"
	"sync"
)

// Base is the release this binary is, set at build time with
// -ldflags "-X github.com/keyraft/keyraft/internal/version.Base=0.3.0".
// A build that sets nothing is a development build of the next release.
var Base = "0.1.0-dev"

var full = sync.OnceValue(func() string { return compose(Base, buildSettings()) })

// String is Base, followed by the commit the binary was built from (12 hex
// digits, "+dirty" when the checkout had changes) when the Go toolchain
// recorded one: `go build` in a checkout does, `go test` and -buildvcs=false
// do not.
func String() string { return full() }

func buildSettings() map[string]string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return nil
	}
	m := map[string]string{}
	for _, s := range bi.Settings {
		m[s.Key] = s.Value
	}
	return m
}

// compose builds the version string from base and the build's settings.
func compose(base string, settings map[string]string) string {
	rev := settings["vcs.revision"]
	if len(rev) < 12 {
		return base
	}
	v := base + " (" + rev[:12]
	if settings["vcs.modified"] == "true" {
		v += "+dirty"
	}
	return v + ")"
}
