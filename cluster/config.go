package cluster

import (
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/keyraft/keyraft/fsm"
	"github.com/keyraft/keyraft/internal/diskspace"
	"github.com/keyraft/keyraft/transport/tlsconfig"
)

// Config is one server's place in the cluster. Bind addresses are host:port;
// Advertise* are what peers dial, and must not be unspecified (0.0.0.0).
type Config struct {
	NodeID  string
	DataDir string

	RaftBind, RaftAdvertise     string
	GossipBind, GossipAdvertise string
	ClusterAdvertise            string
	APIAdvertise                string

	// Join lists memberlist seeds (host:port), retried until one answers.
	Join []string
	// BootstrapExpect is how many servers must find each other before the
	// first of them bootstrap Raft together.
	BootstrapExpect int

	FSM    *fsm.FSM
	Logger hclog.Logger

	// TLS, when set, puts the raft and cluster (gRPC) connections under
	// mutual TLS with this node's certificate, and admits to the raft
	// configuration only servers whose certificate chains to the same CA
	// and names their node id. Nil runs both in plaintext.
	TLS *tlsconfig.Cluster
	// GossipKey, when set, encrypts and authenticates gossip (AES-GCM,
	// 16, 24 or 32 bytes); members without it cannot join.
	GossipKey []byte

	// Sealed reports this server's seal state for gossip and hand-off.
	Sealed func() bool
	// Initialized reports whether the cluster holds an init record.
	Initialized func() bool

	// MinFreeDisk, when above zero, makes the leader refuse new proposals
	// (ErrNoSpace) while any voter's data dir has less free space.
	MinFreeDisk uint64
	// Reserve, when set, is given back to the filesystem when a store
	// write finds the disk full, and made again once there is room.
	Reserve *diskspace.Reserve

	// Raft tuning; zero values take the defaults below.
	HeartbeatTimeout  time.Duration
	ElectionTimeout   time.Duration
	SnapshotThreshold uint64
	TrailingLogs      uint64
	SnapshotInterval  time.Duration // how often Raft checks the threshold
}

func (c *Config) setDefaults() {
	if c.HeartbeatTimeout == 0 {
		c.HeartbeatTimeout = time.Second
	}
	if c.ElectionTimeout == 0 {
		c.ElectionTimeout = time.Second
	}
	if c.SnapshotThreshold == 0 {
		c.SnapshotThreshold = 8192
	}
	if c.TrailingLogs == 0 {
		c.TrailingLogs = 10240
	}
	if c.SnapshotInterval == 0 {
		c.SnapshotInterval = 2 * time.Minute
	}
	if c.Logger == nil {
		c.Logger = hclog.NewNullLogger()
	}
	if c.Sealed == nil {
		c.Sealed = func() bool { return true }
	}
	if c.Initialized == nil {
		c.Initialized = func() bool { return false }
	}
}
