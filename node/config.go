package node

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/keyraft/keyraft/transport/tlsconfig"
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

	// TLSCertFile and TLSKeyFile, when set, serve the API over HTTPS.
	TLSCertFile, TLSKeyFile string
	// ClusterCAFile, ClusterCertFile and ClusterKeyFile, when set, put the
	// cluster (gRPC) and raft listeners under mutual TLS: every node
	// presents its certificate, which must chain to the CA and name its
	// node id (`keyraft operator tls-gen` makes such files). All three or
	// none; with none, both listeners are plaintext.
	ClusterCAFile, ClusterCertFile, ClusterKeyFile string
	// GossipKey, when set, encrypts gossip (16, 24 or 32 bytes, the same on
	// every node).
	GossipKey []byte
	// Insecure lets the server run its cluster without mutual TLS or a
	// gossip key (-insecure): it warns at start and every minute, reports
	// it in its status, and refuses `unseal -all`. Without it, Start
	// refuses such a configuration.
	Insecure bool

	Region  string
	Account string

	Logger hclog.Logger

	// AuditRetainEvents, AuditRetainAge and AuditRetainMiB bound the audit
	// log: the leader trims the oldest events beyond any of them (zero
	// keeps everything). The size bound counts whole segments.
	AuditRetainEvents int
	AuditRetainAge    time.Duration
	AuditRetainMiB    int
	// AuditSegmentSize is where audit segments roll (zero: 64 MiB). Only
	// tests set it, the same on every node.
	AuditSegmentSize int64
	// AuditReturnWait, when above zero, lets a batch of audit events wait up
	// to this long, and at most as long as the last Raft round, while most
	// events come from callers that come straight back for more
	// (audit.Batcher). Zero keeps the short wait for every caller.
	AuditReturnWait time.Duration

	// Wall is this node's wall clock; nil is time.Now. Only test builds
	// set it (to jump it); every timestamp the node proposes comes from
	// the cluster clock, which this clock can move only within bounds.
	Wall func() time.Time

	// DayLength stands for one day in deletion windows and rotation
	// periods; zero is 24h. Tests shorten it; it is never an API parameter.
	DayLength time.Duration

	// MaxConnections and MaxConnectionsPerIP cap the connections the API
	// listener holds open, in total and from one source IP; zero means no
	// cap (the server flags default to DefaultMaxConnections and
	// DefaultMaxConnectionsPerIP). Connections beyond a cap are closed at
	// once.
	MaxConnections      int
	MaxConnectionsPerIP int
	// The API's http.Server timeouts; zero takes the Default of each.
	HTTPReadHeaderTimeout time.Duration
	HTTPReadTimeout       time.Duration
	HTTPWriteTimeout      time.Duration
	HTTPIdleTimeout       time.Duration

	// MinFreeDisk, when above zero, makes the leader refuse writes (503,
	// NOSPACE alarm) while any voter's data dir has less free space; a
	// quarter of it, at most 64 MiB, is kept as a reserve file that the
	// node gives back when a write finds its disk full (node/disk.go).
	// Zero turns both off; the flag's default is DefaultMinFreeDisk.
	MinFreeDisk uint64

	// Raft timing; zero takes the cluster defaults (1 s heartbeat/election).
	HeartbeatTimeout time.Duration
	ElectionTimeout  time.Duration

	// SnapshotThreshold and TrailingLogs are Raft's: a snapshot is taken
	// once this many entries follow the last, and this many stay in the
	// log after it (so a briefly absent follower catches up from the log,
	// not by a snapshot install); Raft checks the threshold every
	// SnapshotInterval. Zero takes the cluster defaults.
	SnapshotThreshold uint64
	TrailingLogs      uint64
	SnapshotInterval  time.Duration
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

// loadTLS reads the API and cluster certificates named in the config; a nil
// result means that listener stays plaintext.
func (c *Config) loadTLS() (api *tls.Config, clusterTLS *tlsconfig.Cluster, err error) {
	if (c.TLSCertFile == "") != (c.TLSKeyFile == "") {
		return nil, nil, errors.New("api TLS needs both a certificate and a key file")
	}
	if c.TLSCertFile != "" {
		if api, err = tlsconfig.LoadServer(c.TLSCertFile, c.TLSKeyFile); err != nil {
			return nil, nil, err
		}
	}
	given := 0
	for _, f := range []string{c.ClusterCAFile, c.ClusterCertFile, c.ClusterKeyFile} {
		if f != "" {
			given++
		}
	}
	switch given {
	case 0:
		return api, nil, nil
	case 3:
	default:
		return nil, nil, errors.New("cluster TLS needs all three of the CA, certificate and key files")
	}
	if clusterTLS, err = tlsconfig.LoadCluster(c.ClusterCAFile, c.ClusterCertFile, c.ClusterKeyFile); err != nil {
		return nil, nil, err
	}
	if err := clusterTLS.CheckNodeID(c.NodeID); err != nil {
		return nil, nil, err
	}
	return api, clusterTLS, nil
}
