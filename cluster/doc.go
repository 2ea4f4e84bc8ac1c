// Package cluster runs one keyraft server's membership in the cluster: the
// Raft node and its raft-boltdb stores, memberlist discovery, bootstrap,
// voter reconciliation, leadership hand-off and forwarding to the leader.
package cluster
