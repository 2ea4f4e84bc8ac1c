package node

import (
	"errors"
	"time"

	"github.com/keyraft/keyraft/transport/tlsconfig"
)

// ErrUnauthenticatedCluster: a server was asked to run its cluster without
// mutual TLS or a gossip key, and not told -insecure.
var ErrUnauthenticatedCluster = errors.New("refusing to start an unauthenticated cluster node: give cluster mutual TLS " +
	"(-cluster-ca-file, -cluster-cert-file, -cluster-key-file; `keyraft operator tls-gen` makes them) and a gossip key " +
	"(-gossip-key-file; `keyraft operator gossip-keygen`), or pass -insecure to run in plaintext, where any process " +
	"that reaches the cluster's ports can join it, read its replicated state and claim a node's id")

// insecureWarning is logged at start and every insecureWarnEvery while the
// server runs with -insecure.
const insecureWarning = "INSECURE: this server runs with -insecure: cluster traffic is neither authenticated nor encrypted; " +
	"any process that reaches the raft, cluster or gossip port can join, read the replicated state or pose as a node; " +
	"`operator unseal -all` is refused"

const insecureWarnEvery = time.Minute

// checkClusterAuth refuses a cluster without mutual TLS and a gossip key
// unless the operator chose Insecure.
func checkClusterAuth(c *Config, clusterTLS *tlsconfig.Cluster) error {
	if c.Insecure || (clusterTLS != nil && len(c.GossipKey) > 0) {
		return nil
	}
	return ErrUnauthenticatedCluster
}

// warnInsecure repeats the -insecure warning until the server stops, so
// that it stays in view in any window of the log.
func (s *Server) warnInsecure() {
	s.log.Warn(insecureWarning)
	t := time.NewTicker(insecureWarnEvery)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			s.log.Warn(insecureWarning)
		}
	}
}
