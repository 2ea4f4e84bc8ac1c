package cluster

import (
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/keyraft/keyraft/config"
	"github.com/keyraft/keyraft/fsm"
	"github.com/keyraft/keyraft/internal/diskspace"
	"github.com/keyraft/keyraft/metrics"
	"github.com/keyraft/keyraft/transport/tlsconfig"
)

// Config is one server's place in the cluster: the node's configuration
// that concerns the cluster (config.Cluster, handed over whole), and what
// the node wires in at start. Advertise* are what peers dial, and must not
// be unspecified (0.0.0.0).
type Config struct {
	config.Cluster

	RaftAdvertise    string
	GossipAdvertise  string
	ClusterAdvertise string
	APIAdvertise     string

	FSM    *fsm.FSM
	Logger hclog.Logger

	// TLS, when set, puts the raft and cluster (gRPC) connections under
	// mutual TLS with this node's certificate, and admits to the raft
	// configuration only servers whose certificate chains to the same CA
	// and names their node id. Nil runs both in plaintext.
	TLS *tlsconfig.Cluster

	// Sealed reports this server's seal state for gossip and hand-off.
	Sealed func() bool
	// Initialized reports whether the cluster holds an init record.
	Initialized func() bool
	// Wall is this server's wall clock, which its gossip acks carry
	// (PeerWalls); nil is time.Now.
	Wall func() time.Time
	// Now stamps the commands this server proposes: the cluster clock
	// (package clusterclock), so that a jump of the wall clock cannot
	// reach the log; nil is Wall.
	Now func() time.Time

	// Reserve, when set, is given back to the filesystem when a store
	// write finds the disk full, and made again once there is room.
	Reserve *diskspace.Reserve

	// Metrics, when set, times commits and applies and counts leader
	// changes.
	Metrics *metrics.Raft
	// AutopilotMetrics, when set, reports the leader's autopilot verdict.
	AutopilotMetrics *metrics.Autopilot
}

// setDefaults fills what the caller left unset: Raft's tuning from the
// config package's defaults, and inert stand-ins for the hooks, so that a
// test can start a node with little more than its addresses.
func (c *Config) setDefaults() {
	c.Cluster.Complete()
	if c.Wall == nil {
		c.Wall = time.Now
	}
	if c.Now == nil {
		c.Now = c.Wall
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
