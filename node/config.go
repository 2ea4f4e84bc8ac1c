package node

import (
	"crypto/tls"
	"fmt"
	"net"

	"github.com/keyraft/keyraft/config"
	"github.com/keyraft/keyraft/transport/tlsconfig"
)

// Config is one node's configuration (package config holds it, its
// defaults, flags and checks).
type Config = config.Node

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

// loadTLS reads the API and cluster certificates named in the config,
// which Validate has checked come in pairs and triples; a nil result means
// that listener stays plaintext.
func loadTLS(c *Config) (api *tls.Config, clusterTLS *tlsconfig.Cluster, err error) {
	if c.TLSCertFile != "" {
		if api, err = tlsconfig.LoadServer(c.TLSCertFile, c.TLSKeyFile); err != nil {
			return nil, nil, err
		}
	}
	if c.ClusterCAFile == "" {
		return api, nil, nil
	}
	if clusterTLS, err = tlsconfig.LoadCluster(c.ClusterCAFile, c.ClusterCertFile, c.ClusterKeyFile); err != nil {
		return nil, nil, err
	}
	if err := clusterTLS.CheckNodeID(c.NodeID); err != nil {
		return nil, nil, err
	}
	return api, clusterTLS, nil
}
