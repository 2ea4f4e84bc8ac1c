package config

import (
	"flag"
	"fmt"
	"strings"

	"github.com/keyraft/keyraft/internal/diskspace"
)

// flags is the server subcommand's flag set, bound to a Node, with the
// flags that are not settings themselves: the file to read and the gossip
// key in its two spellings, decoded once all are parsed.
type flags struct {
	fs   *flag.FlagSet
	node *Node

	file                     string
	gossipKey, gossipKeyFile string
}

// newFlags registers every server flag on fs, each defaulting to n's value
// (Default's, so that the usage shows them).
func newFlags(fs *flag.FlagSet, n *Node) *flags {
	f := &flags{fs: fs, node: n}
	fs.StringVar(&f.file, "config", "", "JSON file of flag values (flag names as keys); flags given on the command line win")
	fs.BoolVar(&n.Dev, "dev", n.Dev, "one node in a temporary data dir, initialised with one share and unsealed")
	fs.StringVar(&n.Seed, "seed", n.Seed, "with -dev: create the keys, aliases, tags and policies of this YAML or JSON `file` before serving (docs/seed.md)")
	fs.StringVar(&n.NodeID, "node-id", n.NodeID, "this server's unique id")
	fs.StringVar(&n.DataDir, "data-dir", n.DataDir, "directory for the raft store and snapshots")
	fs.StringVar(&n.APIAddr, "api-addr", n.APIAddr, "AWS KMS and operator API listener; give 0.0.0.0:8200 (or a host's address) for other hosts to reach it")
	fs.StringVar(&n.ClusterAddr, "cluster-addr", n.ClusterAddr, "gRPC listener for node-to-node calls")
	fs.StringVar(&n.RaftAddr, "raft-addr", n.RaftAddr, "raft transport listener")
	fs.StringVar(&n.GossipAddr, "gossip-addr", n.GossipAddr, "memberlist gossip listener (TCP and UDP)")
	fs.StringVar(&n.Advertise, "advertise", n.Advertise, "host or IP peers use to reach this server when a listener binds 0.0.0.0")
	limitFlags(fs, n)
	fs.Var(listFlag{&n.Join}, "join", "comma-separated gossip seeds `host:port`, retried until one answers")
	fs.IntVar(&n.BootstrapExpect, "bootstrap-expect", n.BootstrapExpect, "form the cluster once this many servers have found each other")
	fs.StringVar(&n.TLSCertFile, "tls-cert-file", n.TLSCertFile, "serve the API over HTTPS with this certificate (PEM; with -tls-key-file)")
	fs.StringVar(&n.TLSKeyFile, "tls-key-file", n.TLSKeyFile, "the API certificate's private key (PEM)")
	fs.StringVar(&n.ClusterCAFile, "cluster-ca-file", n.ClusterCAFile, "mutual TLS on the cluster and raft listeners: the CA every node's certificate must chain to (with -cluster-cert-file, -cluster-key-file)")
	fs.StringVar(&n.ClusterCertFile, "cluster-cert-file", n.ClusterCertFile, "this node's cluster certificate (PEM); it must name -node-id")
	fs.StringVar(&n.ClusterKeyFile, "cluster-key-file", n.ClusterKeyFile, "this node's cluster key (PEM)")
	fs.StringVar(&f.gossipKey, "gossip-key", "", "encrypt gossip with this key: base64 of 16, 24 or 32 bytes, the same on every node (`keyraft operator gossip-keygen`)")
	fs.StringVar(&f.gossipKeyFile, "gossip-key-file", "", "read -gossip-key from this file, keeping it out of the process list")
	fs.BoolVar(&n.Insecure, "insecure", n.Insecure, "run the cluster without mutual TLS and a gossip key: any process that reaches its ports can join it and read its state; warns every minute and refuses `operator unseal -all`")
	fs.StringVar(&n.Region, "region", n.Region, "AWS region in ARNs and the SigV4 credential scope")
	fs.StringVar(&n.Account, "account-id", n.Account, "AWS account id in ARNs")
	fs.StringVar(&n.LogLevel, "log-level", n.LogLevel, "trace, debug, info, warn or error")
	fs.StringVar(&n.LogFormat, "log-format", n.LogFormat, "standard (text lines) or json (one JSON object a line, raft's and memberlist's lines included)")
	fs.StringVar(&n.PprofAddr, "pprof-addr", n.PprofAddr, "serve Go's /debug/pprof on this address (loopback only, for profiling)")
	fs.IntVar(&n.AuditRetainEvents, "audit-retain-events", n.AuditRetainEvents, "keep at most this many audit events; the leader trims the oldest (0 keeps all)")
	fs.DurationVar(&n.AuditRetainAge, "audit-retain-age", n.AuditRetainAge, "trim audit events older than this, e.g. 2160h (0 keeps all)")
	fs.IntVar(&n.AuditRetainMiB, "audit-retain-mib", n.AuditRetainMiB, "keep at most this many MiB of audit segments (64 MiB each); the leader trims the oldest whole segments (0 keeps all)")
	fs.DurationVar(&n.AuditReturnWait, "audit-batch-return-wait", n.AuditReturnWait, "let a batch of audit events wait up to this long (at most one Raft round) while most come from callers that come straight back, e.g. 5ms: more throughput for worker pools, up to that much more latency for callers sharing pooled connections (0: 1 ms for everyone)")
	fs.Uint64Var(&n.SnapshotThreshold, "raft-snapshot-threshold", n.SnapshotThreshold, "take a Raft snapshot once this many entries follow the last one")
	fs.Uint64Var(&n.TrailingLogs, "raft-trailing-logs", n.TrailingLogs, "Raft entries kept after a snapshot, for followers that fall briefly behind")
	fs.DurationVar(&n.SnapshotInterval, "raft-snapshot-interval", n.SnapshotInterval, "how often Raft checks -raft-snapshot-threshold (it adds up to this much jitter)")
	autopilotFlags(fs, n)
	fs.Var(sizeFlag{&n.MinFreeDisk}, "min-free-disk", "refuse writes (503, NOSPACE alarm in status) while any voter's data dir has less free space than this, e.g. 256MiB, 1GiB; 0 turns the check off")
	fs.BoolVar(&n.DisableMlock, "disable-mlock", n.DisableMlock, "do not lock memory (mlockall); unsealed keys may then be swapped to disk. Without it the server refuses to start when it cannot lock")
	fs.BoolVar(&n.EnableCoreDumps, "enable-core-dumps", n.EnableCoreDumps, "allow core dumps, which would hold unsealed keys (off by default)")
	registerTestKnobs(fs, n)
	return f
}

// limitFlags are the flags that bound the API listener's connections and
// how long each may take.
func limitFlags(fs *flag.FlagSet, n *Node) {
	fs.IntVar(&n.MaxConnections, "max-connections", n.MaxConnections,
		"API connections held open at once; more are closed on arrival (0: no limit)")
	fs.IntVar(&n.MaxConnectionsPerIP, "max-connections-per-ip", n.MaxConnectionsPerIP,
		"API connections held open at once from one source IP, so that one address cannot take them all; raise it behind a load balancer or NAT that funnels many clients through few addresses (0: no limit)")
	fs.DurationVar(&n.HTTPReadHeaderTimeout, "http-read-header-timeout", n.HTTPReadHeaderTimeout,
		"time a client has to send a request's headers (and finish the TLS handshake)")
	fs.DurationVar(&n.HTTPReadTimeout, "http-read-timeout", n.HTTPReadTimeout,
		"time a client has to send a whole request, body included")
	fs.DurationVar(&n.HTTPWriteTimeout, "http-write-timeout", n.HTTPWriteTimeout,
		"time to answer a request once its headers are read; an audit log export gets this long again for each event it sends")
	fs.DurationVar(&n.HTTPIdleTimeout, "http-idle-timeout", n.HTTPIdleTimeout,
		"how long an idle keep-alive connection is kept open")
	fs.BoolVar(&n.DisableMetrics, "disable-metrics", n.DisableMetrics,
		"do not serve GET /metrics on the API listener; it is unauthenticated (Prometheus format: request counts and latencies by operation, seal, raft and disk state; no key ids, principals or addresses)")
}

// autopilotFlags are the leader's autopilot settings (Vault's names, as flags).
func autopilotFlags(fs *flag.FlagSet, n *Node) {
	fs.DurationVar(&n.AutopilotDeadServerCleanup, "autopilot-dead-server-cleanup", n.AutopilotDeadServerCleanup,
		"remove a server from the raft configuration once it has been dead this long, e.g. 24h, at least 1m (Vault's dead_server_last_contact_threshold), never leaving fewer than -autopilot-min-quorum voters; 0 never removes one (Vault's cleanup_dead_servers=false)")
	fs.UintVar(&n.AutopilotMinQuorum, "autopilot-min-quorum", n.AutopilotMinQuorum,
		"dead-server cleanup never leaves fewer voters than this; at least 3")
	fs.DurationVar(&n.AutopilotLastContactThreshold, "autopilot-last-contact-threshold", n.AutopilotLastContactThreshold,
		"a server that has not heard from the leader for this long is unhealthy")
	fs.Uint64Var(&n.AutopilotMaxTrailingLogs, "autopilot-max-trailing-logs", n.AutopilotMaxTrailingLogs,
		"a server whose log trails the leader's by more entries than this is unhealthy")
	fs.DurationVar(&n.AutopilotServerStabilization, "autopilot-server-stabilization-time", n.AutopilotServerStabilization,
		"a new server joins as a non-voter and is made a voter once it has been healthy this long")
}

// given is the set of flags the command line or the file set.
func (f *flags) given() map[string]bool {
	given := map[string]bool{}
	f.fs.Visit(func(fl *flag.Flag) { given[fl.Name] = true })
	return given
}

// sizeFlag is a byte count flag written as 256MiB, 1GiB or a plain number.
type sizeFlag struct{ p *uint64 }

func (f sizeFlag) String() string {
	if f.p == nil {
		return ""
	}
	return fmt.Sprint(*f.p)
}

func (f sizeFlag) Set(s string) error {
	n, err := diskspace.ParseSize(s)
	if err != nil {
		return err
	}
	*f.p = n
	return nil
}

// listFlag is a comma-separated list; each use replaces the list, as a
// string flag would, and blank entries are dropped.
type listFlag struct{ p *[]string }

func (f listFlag) String() string {
	if f.p == nil {
		return ""
	}
	return strings.Join(*f.p, ",")
}

func (f listFlag) Set(s string) error {
	*f.p = nil
	for _, e := range strings.Split(s, ",") {
		if e = strings.TrimSpace(e); e != "" {
			*f.p = append(*f.p, e)
		}
	}
	return nil
}
