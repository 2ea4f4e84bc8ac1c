package cluster

import (
	"slices"
	"time"

	"github.com/hashicorp/raft"
)

const reconcileInterval = 500 * time.Millisecond

func (n *Node) wake() {
	select {
	case n.kick <- struct{}{}:
	default:
	}
}

// SealChanged is called when this server seals or unseals: the change is
// gossiped, and a sealed leader hands leadership to an unsealed voter.
func (n *Node) SealChanged() {
	sealed := n.cfg.Sealed()
	n.updateMeta(func(m *Meta) { m.Sealed = sealed })
	n.wake()
}

// bootstrapLoop forms the cluster once BootstrapExpect servers have found
// each other and none of them already holds a Raft configuration. Every such
// server bootstraps with the same, sorted server list, which Raft accepts.
func (n *Node) bootstrapLoop() {
	defer n.wg.Done()
	if n.cfg.BootstrapExpect <= 0 {
		return
	}
	t := time.NewTicker(200 * time.Millisecond)
	defer t.Stop()
	for {
		n.metaMu.Lock()
		done := n.meta.HasState
		n.metaMu.Unlock()
		if done {
			return
		}
		if n.hasConfiguration() {
			n.updateMeta(func(m *Meta) { m.HasState = true })
			return
		}
		if servers, ok := n.bootstrapSet(); ok {
			err := n.raft.BootstrapCluster(raft.Configuration{Servers: servers}).Error()
			if err != nil && err != raft.ErrCantBootstrap {
				n.log.Error("bootstrap", "error", err)
			} else {
				n.log.Info("bootstrapped raft", "servers", len(servers))
				n.updateMeta(func(m *Meta) { m.HasState = true })
				return
			}
		}
		select {
		case <-n.stopCh:
			return
		case <-t.C:
		}
	}
}

func (n *Node) hasConfiguration() bool {
	f := n.raft.GetConfiguration()
	return f.Error() == nil && len(f.Configuration().Servers) > 0
}

func (n *Node) bootstrapSet() ([]raft.Server, bool) {
	members := n.aliveMembers()
	if len(members) < n.cfg.BootstrapExpect {
		return nil, false
	}
	for _, m := range members {
		if m.HasState {
			return nil, false // a cluster exists already: wait to be added
		}
	}
	var servers []raft.Server
	for _, m := range members {
		if n.admit(m) {
			servers = append(servers, raft.Server{Suffrage: raft.Voter, ID: raft.ServerID(m.ID), Address: raft.ServerAddress(m.Raft)})
		}
	}
	if len(servers) < n.cfg.BootstrapExpect {
		return nil, false
	}
	slices.SortFunc(servers, func(a, b raft.Server) int {
		if a.ID < b.ID {
			return -1
		}
		if a.ID > b.ID {
			return 1
		}
		return 0
	})
	return servers, true
}

// leaderLoop does the leader's housekeeping: add gossiping servers as
// voters, and hand leadership away while sealed.
func (n *Node) leaderLoop() {
	defer n.wg.Done()
	t := time.NewTicker(reconcileInterval)
	defer t.Stop()
	var lastTransfer time.Time
	for {
		select {
		case <-n.stopCh:
			return
		case <-t.C:
		case <-n.kick:
		}
		if !n.IsLeader() {
			continue
		}
		n.reconcileVoters()
		if n.cfg.Sealed() && n.cfg.Initialized() && time.Since(lastTransfer) > 2*time.Second {
			if n.handOffLeadership() {
				lastTransfer = time.Now()
			}
		}
	}
}

// reconcileVoters adds every live server that is not in the configuration
// at its gossiped address (as a non-voter, which autopilot promotes), unless it is the very process an operator removed,
// its node id is bound to another server's identity, or (with cluster TLS)
// its certificate is not admitted. Before it adds a server, it binds the
// server's identity to its id; voters that formed the cluster are bound the
// first time this leader sees them.
func (n *Node) reconcileVoters() {
	// Bindings are read from the FSM, which may lag the log until this
	// leader's Barrier has applied.
	if n.readyTerm.Load() != n.raft.CurrentTerm() {
		return
	}
	f := n.raft.GetConfiguration()
	if f.Error() != nil {
		return
	}
	current := map[string]raft.Server{}
	for _, s := range f.Configuration().Servers {
		current[string(s.ID)] = s
	}
	for id, m := range n.aliveMembers() {
		if !n.claimHolds(m) {
			continue
		}
		_, isBound := n.cfg.FSM.Query().VoterIdentity(id)
		s, inConfig := current[id]
		if inConfig && string(s.Address) == m.Raft {
			if !isBound && m.Identity != "" {
				if err := n.bindVoter(m); err != nil {
					n.log.Warn("bind voter identity", "node_id", id, "error", err)
				}
			}
			continue
		}
		if nonce, ok := n.cfg.FSM.Query().RemovedBootNonce(id); ok && nonce == m.Boot {
			continue
		}
		if !n.admit(m) {
			continue
		}
		if !isBound {
			if err := n.bindVoter(m); err != nil {
				n.log.Warn("not adding voter: its identity could not be bound", "node_id", id, "error", err)
				continue
			}
		}
		if inConfig && s.Suffrage == raft.Voter {
			// A voter back on a new address keeps its vote.
			n.log.Info("updating voter's address", "node_id", id, "address", m.Raft)
			if err := n.raft.AddVoter(raft.ServerID(id), raft.ServerAddress(m.Raft), 0, 5*time.Second).Error(); err != nil {
				n.log.Warn("add voter", "node_id", id, "error", err)
			}
			continue
		}
		// A new server joins without a vote, so that one that never
		// catches up cannot raise the quorum: autopilot promotes it once
		// it has been healthy for the stabilization time (autopilot.go).
		n.log.Info("adding server as a non-voter; autopilot makes it a voter once stable", "node_id", id, "address", m.Raft)
		if err := n.raft.AddNonvoter(raft.ServerID(id), raft.ServerAddress(m.Raft), 0, 5*time.Second).Error(); err != nil {
			n.log.Warn("add non-voter", "node_id", id, "error", err)
		}
	}
}

// handOffLeadership transfers leadership to a live, unsealed voter; it
// reports whether a transfer was attempted.
func (n *Node) handOffLeadership() bool {
	f := n.raft.GetConfiguration()
	if f.Error() != nil {
		return false
	}
	members := n.aliveMembers()
	for _, s := range f.Configuration().Servers {
		m, ok := members[string(s.ID)]
		if s.Suffrage != raft.Voter || string(s.ID) == n.cfg.NodeID || !ok || m.Sealed || !n.bound(m) {
			continue
		}
		n.log.Info("sealed leader handing off leadership", "to", s.ID)
		if err := n.raft.LeadershipTransferToServer(s.ID, s.Address).Error(); err != nil {
			n.log.Warn("leadership transfer", "to", s.ID, "error", err)
		}
		return true
	}
	return false
}

// Leave prepares a graceful shutdown: a leader hands leadership to a live,
// unsealed voter (or, with none, to the most up-to-date one) and waits up
// to wait for another server to lead, so that a rolling restart costs the
// cluster a leadership transfer (one round trip) instead of an election
// (a heartbeat timeout and a vote) with every request failing meanwhile.
// A follower has nothing to hand over.
func (n *Node) Leave(wait time.Duration) {
	if !n.IsLeader() || !n.hasOtherVoter() {
		return
	}
	if !n.handOffLeadership() {
		if err := n.raft.LeadershipTransfer().Error(); err != nil {
			n.log.Warn("leaving: leadership transfer", "error", err)
			return
		}
	}
	deadline := time.Now().Add(wait)
	for time.Now().Before(deadline) {
		if id := n.LeaderID(); id != "" && id != n.cfg.NodeID {
			n.log.Info("leaving: leadership handed off", "to", id)
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	n.log.Warn("leaving: no other server took leadership", "waited", wait)
}

// hasOtherVoter reports whether the raft configuration has a voter other
// than this server (a single-node cluster has no one to hand off to).
func (n *Node) hasOtherVoter() bool {
	f := n.raft.GetConfiguration()
	if f.Error() != nil {
		return false
	}
	for _, s := range f.Configuration().Servers {
		if s.Suffrage == raft.Voter && string(s.ID) != n.cfg.NodeID {
			return true
		}
	}
	return false
}
