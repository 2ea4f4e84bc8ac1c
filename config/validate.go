package config

import (
	"errors"
	"fmt"
	"net"
	"time"
)

// maxAuditReturnWait bounds -audit-batch-return-wait: a batch waits at
// most one Raft round anyway, and longer would only add latency.
const maxAuditReturnWait = 100 * time.Millisecond

// Validate refuses a configuration a node cannot run on, before anything
// is bound or written.
func (n *Node) Validate() error {
	if n.AuditReturnWait < 0 || n.AuditReturnWait > maxAuditReturnWait {
		return fmt.Errorf("-audit-batch-return-wait %s: want 0 to 100ms", n.AuditReturnWait)
	}
	if n.LogFormat != "" && n.LogFormat != "standard" && n.LogFormat != "json" {
		return fmt.Errorf("-log-format %q: want standard or json", n.LogFormat)
	}
	if err := n.validateAutopilot(); err != nil {
		return err
	}
	if n.PprofAddr != "" {
		if err := checkLoopback(n.PprofAddr); err != nil {
			return fmt.Errorf("-pprof-addr: %w", err)
		}
	}
	// Fixed key material and ids are for tests: a production cluster never
	// takes them, whatever its config file says.
	if n.Seed != "" && !n.Dev {
		return errors.New("-seed is only for -dev servers")
	}
	// A -dev process makes a temporary data dir when none is given.
	if n.NodeID == "" || (n.DataDir == "" && !n.Dev) {
		return errors.New("-node-id and -data-dir are required (or use -dev)")
	}
	if (n.TLSCertFile == "") != (n.TLSKeyFile == "") {
		return errors.New("api TLS needs both a certificate and a key file")
	}
	given := 0
	for _, f := range []string{n.ClusterCAFile, n.ClusterCertFile, n.ClusterKeyFile} {
		if f != "" {
			given++
		}
	}
	if given != 0 && given != 3 {
		return errors.New("cluster TLS needs all three of the CA, certificate and key files")
	}
	return nil
}

// Dead-server cleanup floors. Vault refuses a dead_server_last_contact_threshold
// under a minute (hashicorp/vault#22040): a shorter one removes a server
// that is only restarting, or cut off for a moment, and a removed server
// must be re-joined by hand. Only a -dev server or a test build (tag
// keyraft_testknobs, which the e2e harness builds) may go down to a second,
// so that tests of cleanup take seconds; never below, as a nanosecond is
// no threshold at all.
const (
	minDeadServerCleanup     = time.Minute
	minTestDeadServerCleanup = time.Second
	// minAutopilotQuorum is Vault's floor for min_quorum: cleanup that may
	// shrink a cluster below three voters leaves it no failure tolerance.
	minAutopilotQuorum = 3
)

// deadServerCleanupFloor is the shortest -autopilot-dead-server-cleanup
// above zero that a node takes.
func deadServerCleanupFloor(dev, testBuild bool) time.Duration {
	if dev || testBuild {
		return minTestDeadServerCleanup
	}
	return minDeadServerCleanup
}

// validateAutopilot refuses autopilot settings that make no sense (a
// negative or zero duration where zero does not mean "off", a quorum below
// Vault's) or that would let autopilot remove healthy servers.
func (n *Node) validateAutopilot() error {
	c := n.Cluster
	if d := c.AutopilotDeadServerCleanup; d != 0 {
		floor := deadServerCleanupFloor(n.Dev, TestKnobsBuilt)
		if d < floor {
			return fmt.Errorf("-autopilot-dead-server-cleanup %s: want 0 (never remove a server) or at least %s", d, floor)
		}
	}
	if c.AutopilotMinQuorum < minAutopilotQuorum {
		return fmt.Errorf("-autopilot-min-quorum %d: want at least %d", c.AutopilotMinQuorum, minAutopilotQuorum)
	}
	if c.AutopilotLastContactThreshold <= 0 {
		return fmt.Errorf("-autopilot-last-contact-threshold %s: want a duration above zero", c.AutopilotLastContactThreshold)
	}
	if c.AutopilotServerStabilization <= 0 {
		return fmt.Errorf("-autopilot-server-stabilization-time %s: want a duration above zero", c.AutopilotServerStabilization)
	}
	if c.AutopilotMaxTrailingLogs == 0 {
		return errors.New("-autopilot-max-trailing-logs 0: want at least 1")
	}
	return nil
}

// checkLoopback accepts a listen address only if its host is, and resolves
// only to, loopback addresses: /debug/pprof hands out heap profiles, which
// hold whatever secrets the heap held.
func checkLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	if host == "" {
		return fmt.Errorf("%q listens on every interface; give a loopback address such as 127.0.0.1:6060", addr)
	}
	ips := []net.IP{net.ParseIP(host)}
	if ips[0] == nil {
		if ips, err = net.LookupIP(host); err != nil {
			return fmt.Errorf("resolve %q: %w", host, err)
		}
	}
	if len(ips) == 0 {
		return fmt.Errorf("%q resolves to no address", host)
	}
	for _, ip := range ips {
		if !ip.IsLoopback() {
			return fmt.Errorf("%q is not a loopback address (%s); pprof serves heap profiles and is only served on loopback, e.g. 127.0.0.1:6060", addr, ip)
		}
	}
	return nil
}
