package config

import (
	"time"

	"github.com/hashicorp/go-hclog"
)

// Node is one node's configuration. Addresses are host:port to bind;
// Advertise is the host peers dial when a bind host is unspecified.
type Node struct {
	// Cluster is what the cluster package runs on, handed to it whole.
	Cluster

	APIAddr     string
	ClusterAddr string
	Advertise   string

	// TLSCertFile and TLSKeyFile, when set, serve the API over HTTPS.
	TLSCertFile, TLSKeyFile string
	// ClusterCAFile, ClusterCertFile and ClusterKeyFile, when set, put the
	// cluster (gRPC) and raft listeners under mutual TLS: every node
	// presents its certificate, which must chain to the CA and name its
	// node id (`keyraft operator tls-gen` makes such files). All three or
	// none; with none, both listeners are plaintext.
	ClusterCAFile, ClusterCertFile, ClusterKeyFile string
	// Insecure lets the server run its cluster without mutual TLS or a
	// gossip key (-insecure): it warns at start and every minute, reports
	// it in its status, and refuses `unseal -all`. Without it, the server
	// refuses such a configuration.
	Insecure bool

	Region  string
	Account string

	// Logger is built by the process from LogLevel and LogFormat; nil is
	// info level. Raft's and memberlist's logs go through it too.
	Logger   hclog.Logger
	LogLevel string
	// LogFormat is "standard" (hclog's text lines) or "json" (one JSON
	// object a line, hclog's JSONFormat) for log shippers.
	LogFormat string

	// AuditRetainEvents, AuditRetainAge and AuditRetainMiB bound the audit
	// log: the leader trims the oldest events beyond any of them (zero
	// keeps everything). The size bound counts whole segments.
	AuditRetainEvents int
	AuditRetainAge    time.Duration
	AuditRetainMiB    int
	// AuditSegmentSize is where audit segments roll (zero: 64 MiB). Only
	// test builds set it, the same on every node.
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

	// ResealBatch and ResealInterval pace the leader's re-seal after a
	// keyring rotation (operator rotate): at most ResealBatch values a Raft
	// entry, one entry every ResealInterval. Zero takes 64 and 100 ms. Only
	// test builds set them (to slow a re-seal down enough to kill its leader
	// mid-way).
	ResealBatch    int
	ResealInterval time.Duration

	// MaxConnections and MaxConnectionsPerIP cap the connections the API
	// listener holds open, in total and from one source IP; zero means no
	// cap. Connections beyond a cap are closed at once.
	MaxConnections      int
	MaxConnectionsPerIP int
	// The API's http.Server timeouts; zero or less takes the default.
	HTTPReadHeaderTimeout time.Duration
	HTTPReadTimeout       time.Duration
	HTTPWriteTimeout      time.Duration
	HTTPIdleTimeout       time.Duration

	// DisableMetrics turns GET /metrics off (404). It is served without
	// authentication otherwise, as Prometheus scrapes it: counts, latencies
	// and states, never a key id, principal, address or secret (docs/metrics.md).
	DisableMetrics bool

	// The process around the node, which only cmd/keyraft reads: -dev
	// mode, the pprof listener (loopback only) and memory protection.
	Dev bool
	// Seed is a -dev process's seed file (YAML or JSON, package seed): keys
	// with fixed ids and material created before the node serves.
	Seed            string
	PprofAddr       string
	DisableMlock    bool
	EnableCoreDumps bool
}

// Cluster is the part of a node's configuration that the cluster package
// runs on: who the node is, where raft and gossip listen, how it finds its
// peers, and Raft's tuning.
type Cluster struct {
	NodeID  string
	DataDir string

	// RaftAddr and GossipAddr are the raft transport's and memberlist's
	// bind addresses.
	RaftAddr   string
	GossipAddr string

	// Join lists memberlist seeds (host:port), retried until one answers.
	Join []string
	// BootstrapExpect is how many servers must find each other before the
	// first of them bootstrap Raft together.
	BootstrapExpect int

	// GossipKey, when set, encrypts and authenticates gossip (AES-GCM,
	// 16, 24 or 32 bytes, the same on every node); members without it
	// cannot join.
	GossipKey []byte

	// MinFreeDisk, when above zero, makes the leader refuse writes (503,
	// NOSPACE alarm) while any voter's data dir has less free space; a
	// quarter of it, at most 64 MiB, is kept as a reserve file that the
	// node gives back when a write finds its disk full. Zero turns both
	// off.
	MinFreeDisk uint64

	// Raft timing; zero takes the default (1 s heartbeat and election).
	HeartbeatTimeout time.Duration
	ElectionTimeout  time.Duration

	// SnapshotThreshold and TrailingLogs are Raft's: a snapshot is taken
	// once this many entries follow the last, and this many stay in the
	// log after it (so a briefly absent follower catches up from the log,
	// not by a snapshot install); Raft checks the threshold every
	// SnapshotInterval. Zero takes the default.
	SnapshotThreshold uint64
	TrailingLogs      uint64
	SnapshotInterval  time.Duration
}
