// Package control holds cluster control: one interface over two backends
// that build, start, initialise, unseal, fault and tear down a keyraft
// cluster (local processes on loopback, or docker-compose containers), and
// the operator calls both share. It reaches keyraft only through its CLI,
// its operator HTTP API and signals or docker commands.
package control

import (
	"context"
	"errors"
)

// Cluster is a running keyraft cluster the harness owns.
type Cluster interface {
	// Name is the backend: "local" or "docker".
	Name() string
	// Nodes are the node ids, n1..nN.
	Nodes() []string
	// Endpoint is the node's API URL as the harness (on the host) dials it.
	Endpoint(node string) string
	// Binary is a host keyraft binary, for the operator CLI.
	Binary() string
	// CAFile is the CA certificate the API's HTTPS certificates chain to,
	// "" when the API is plain HTTP.
	CAFile() string

	// Kill stops the node at once (SIGKILL): no shutdown, no flush.
	Kill(ctx context.Context, node string) error
	// Restart starts a killed node again on its data; it comes back sealed.
	Restart(ctx context.Context, node string) error
	// Pause freezes the node (SIGSTOP, docker pause); Resume thaws it.
	Pause(ctx context.Context, node string) error
	Resume(ctx context.Context, node string) error
	// Cut drops all traffic between the two nodes of every link, both ways,
	// on the node-to-node ports (raft, cluster gRPC, gossip); the harness
	// still reaches every node's API.
	Cut(ctx context.Context, links [][2]string) error
	// Heal removes every cut.
	Heal(ctx context.Context) error
	// CanPartition is nil when Cut works here, else why not.
	CanPartition() error

	// Log is the node's server log so far (stdout and stderr).
	Log(ctx context.Context, node string) ([]byte, error)

	// Teardown stops every process or container the cluster started.
	Teardown(ctx context.Context) error
}

// ErrNoPartitions: this backend cannot cut links on this machine.
var ErrNoPartitions = errors.New("partitions are not available")

// Config is what both backends need.
type Config struct {
	// Src is the keyraft checkout (the parent module) to build.
	Src string
	// Rev, when set, builds that git revision of Src (extracted with git
	// archive into the run directory) instead of Src's working tree, which
	// other people may be editing; the run records the commit.
	Rev string
	// Dir is the run directory; node data and logs go below it.
	Dir string
	// Nodes is the cluster size (3 or 5).
	Nodes int
	// DayLength, when set, is passed as -test-day-length so that deletion
	// windows (7 "days") end during the run.
	DayLength string
	// LogLevel of the servers (default info).
	LogLevel string
	// ServerArgs are more `keyraft server` flags for every node.
	ServerArgs []string
	// TLS runs the nodes as the project's docker-compose.yml does: HTTPS
	// API, mutual TLS between nodes, encrypted gossip. Without it the
	// nodes run with -insecure, in plaintext.
	TLS bool
	// Logf reports progress.
	Logf func(format string, args ...any)
}

func (c *Config) logf(format string, args ...any) {
	if c.Logf != nil {
		c.Logf(format, args...)
	}
}

func nodeNames(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = "n" + string(rune('1'+i))
	}
	return out
}
