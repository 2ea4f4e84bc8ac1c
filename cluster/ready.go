package cluster

import (
	"time"
)

// Serving reports whether this server can answer KMS requests now, seal
// state aside (the operator API adds it): as leader, once its Barrier has
// applied every earlier entry; as follower, once it has applied the log it
// restarted with (or as much of it as survived the leader's repair), hears
// from a leader within the heartbeat timeout, and reaches that leader by
// gossip (forwarding dials the leader's gossiped cluster address). reason
// says what is missing, for status.
func (n *Node) Serving() (ok bool, reason string) {
	if n.IsLeader() {
		if n.readyTerm.Load() != n.raft.CurrentTerm() {
			return false, "leader applying earlier entries"
		}
		return true, ""
	}
	leader := n.LeaderID()
	if leader == "" {
		return false, "no leader known"
	}
	lc := n.raft.LastContact()
	if lc.IsZero() || time.Since(lc) > n.cfg.HeartbeatTimeout {
		return false, "no recent contact with the leader"
	}
	if _, ok := n.aliveMembers()[leader]; !ok {
		return false, "leader not reachable by gossip"
	}
	if !n.caughtUp.Load() {
		// The log this server restarted with is applied only once a
		// leader has said how much of it is committed.
		if n.raft.AppliedIndex() < min(n.bootLastIndex, n.raft.LastIndex()) {
			return false, "catching up with the leader's log"
		}
		n.caughtUp.Store(true)
	}
	return true, ""
}

// HasClusterState reports whether this server is part of a cluster: its
// raft configuration names servers (it bootstrapped, or was added, or
// restarted with that state).
func (n *Node) HasClusterState() bool { return n.hasConfiguration() }
