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
