package server

import (
	"fmt"
	"net"
	"time"

	"github.com/hashicorp/go-hclog"
)

// Config is one node's configuration. Addresses are host:port to bind;
// Advertise is the host peers dial when a bind host is unspecified.
type Config struct {
	NodeID  string
	DataDir string

	APIAddr     string
	ClusterAddr string
	RaftAddr    string
	GossipAddr  string
	Advertise   string

	Join            []string
	BootstrapExpect int

	Region  string
	Account string

	Logger hclog.Logger

	// AuditRetainEvents and AuditRetainAge bound the audit log: the leader
	// trims the oldest events beyond either (zero keeps everything).
	AuditRetainEvents int
	AuditRetainAge    time.Duration

	// DayLength stands for one day in deletion windows and rotation
	// periods; zero is 24h. Tests shorten it; it is never an API parameter.
	DayLength time.Duration

	// Raft timing; zero takes the cluster defaults (1 s heartbeat/election).
	HeartbeatTimeout time.Duration
	ElectionTimeout  time.Duration
}

// advertised turns a bind address into one peers can dial.
func advertised(bind, advertise string) (string, error) {
	host, port, err := net.SplitHostPort(bind)
	if err != nil {
		return "", fmt.Errorf("address %q: %w", bind, err)
	}
	if ip := net.ParseIP(host); host != "" && (ip == nil || !ip.IsUnspecified()) {
		return resolveHostPort(host, port)
	}
	if advertise == "" {
		advertise = defaultAdvertiseIP()
	}
	return resolveHostPort(advertise, port)
}

// resolveHostPort resolves a host name to an IP, which Raft's transport
// requires in its advertised address.
func resolveHostPort(host, port string) (string, error) {
	if net.ParseIP(host) != nil {
		return net.JoinHostPort(host, port), nil
	}
	ips, err := net.LookupIP(host)
	if err != nil || len(ips) == 0 {
		return "", fmt.Errorf("resolve %q: %v", host, err)
	}
	for _, ip := range ips {
		if ip.To4() != nil {
			return net.JoinHostPort(ip.String(), port), nil
		}
	}
	return net.JoinHostPort(ips[0].String(), port), nil
}

// defaultAdvertiseIP is the first non-loopback IPv4 address, else loopback.
func defaultAdvertiseIP() string {
	addrs, err := net.InterfaceAddrs()
	if err == nil {
		for _, a := range addrs {
			if ipn, ok := a.(*net.IPNet); ok && !ipn.IP.IsLoopback() && ipn.IP.To4() != nil {
				return ipn.IP.String()
			}
		}
	}
	return "127.0.0.1"
}
