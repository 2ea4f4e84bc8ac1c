package config

import "time"

// Default is a node's configuration before the file and the flags: the one
// place where a default value is written. The flags show these values in
// their usage, and Complete falls back on them.
//
// The API listener's bounds: a client at its per-address cap holds at most
// MaxConnectionsPerIP request bodies (64 KiB each at most) and cannot keep
// them longer than HTTPReadTimeout; other addresses are served meanwhile.
// The header, read and idle timeouts are Vault's listener defaults but for
// the idle one (Vault: 5 min), which is kept above the 90 s after which
// Go's and most SDKs' clients drop an idle connection themselves, so that a
// client does not reuse a connection we are closing.
//
// MinFreeDisk leaves room for a few minutes of a busy cluster's Raft log
// and audit segments (64 MiB each) after the leader stops proposing, and
// for a snapshot.
func Default() Node {
	return Node{
		Cluster: Cluster{
			RaftAddr:          "0.0.0.0:8202",
			GossipAddr:        "0.0.0.0:8203",
			MinFreeDisk:       256 << 20,
			HeartbeatTimeout:  time.Second,
			ElectionTimeout:   time.Second,
			SnapshotThreshold: 8192,
			TrailingLogs:      10240,
			SnapshotInterval:  2 * time.Minute,
			// Vault's autopilot defaults (min_quorum has none in Vault, which
			// requires it with cleanup; 3 is the least it accepts).
			AutopilotMinQuorum:            3,
			AutopilotLastContactThreshold: 10 * time.Second,
			AutopilotMaxTrailingLogs:      1000,
			AutopilotServerStabilization:  10 * time.Second,
		},
		// The API binds loopback unless told otherwise, as Vault's dev
		// listener does: a node reachable from other hosts is a choice
		// (-api-addr 0.0.0.0:8200), not an accident of the default.
		APIAddr:               "127.0.0.1:8200",
		ClusterAddr:           "0.0.0.0:8201",
		Region:                "us-east-1",
		Account:               "111122223333",
		LogLevel:              "info",
		LogFormat:             "standard",
		MaxConnections:        4096,
		MaxConnectionsPerIP:   256,
		HTTPReadHeaderTimeout: 10 * time.Second,
		HTTPReadTimeout:       30 * time.Second,
		HTTPWriteTimeout:      60 * time.Second,
		HTTPIdleTimeout:       2 * time.Minute,
	}
}

// Complete gives the settings whose zero means "the default" their default
// value. It leaves alone those where zero means something (no cap, no
// retention, no disk check).
func (n *Node) Complete() {
	d := Default()
	n.Cluster.Complete()
	if n.Region == "" {
		n.Region = d.Region
	}
	if n.Account == "" {
		n.Account = d.Account
	}
	if n.LogFormat == "" {
		n.LogFormat = d.LogFormat
	}
	orDefault(&n.HTTPReadHeaderTimeout, d.HTTPReadHeaderTimeout)
	orDefault(&n.HTTPReadTimeout, d.HTTPReadTimeout)
	orDefault(&n.HTTPWriteTimeout, d.HTTPWriteTimeout)
	orDefault(&n.HTTPIdleTimeout, d.HTTPIdleTimeout)
}

// Complete gives Raft's settings left at zero their default value.
func (c *Cluster) Complete() {
	d := Default().Cluster
	ifZero(&c.HeartbeatTimeout, d.HeartbeatTimeout)
	ifZero(&c.ElectionTimeout, d.ElectionTimeout)
	ifZero(&c.SnapshotInterval, d.SnapshotInterval)
	ifZero(&c.SnapshotThreshold, d.SnapshotThreshold)
	ifZero(&c.TrailingLogs, d.TrailingLogs)
	ifZero(&c.AutopilotLastContactThreshold, d.AutopilotLastContactThreshold)
	ifZero(&c.AutopilotMaxTrailingLogs, d.AutopilotMaxTrailingLogs)
	ifZero(&c.AutopilotServerStabilization, d.AutopilotServerStabilization)
	if c.AutopilotMinQuorum == 0 {
		c.AutopilotMinQuorum = d.AutopilotMinQuorum
	}
}

// orDefault sets *d to def when it is not positive: an http.Server takes a
// negative timeout as none at all.
func orDefault(d *time.Duration, def time.Duration) {
	if *d <= 0 {
		*d = def
	}
}

// ifZero sets *v to def when it is zero; a negative Raft setting is left
// for Raft to refuse.
func ifZero[T time.Duration | uint64](v *T, def T) {
	if *v == 0 {
		*v = def
	}
}
