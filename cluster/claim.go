package cluster

import (
	"context"
	"errors"
	"time"

	"github.com/keyraft/keyraft/fsm"
	"github.com/keyraft/keyraft/fsm/fsmpb"
)

// ErrInsecureUnseal: `unseal -all` was asked of a cluster without mutual
// TLS, where no server can prove it is the voter it claims to be.
var ErrInsecureUnseal = errors.New("unseal -all is refused without cluster mutual TLS: no server can prove with a certificate that it is the voter it claims to be, so a share could go to any process that gossips a voter's id; unseal each node with `keyraft operator unseal -address` instead, or run the cluster with -cluster-ca-file, -cluster-cert-file, -cluster-key-file and a gossip key")

// claimHolds reports whether m may act as the server its node id names:
// the id is bound to no identity yet, or to m's. A server whose identity
// differs is a second process started with a voter's id (the voter up or
// down): it is refused, and the refusal logged once per identity.
func (n *Node) claimHolds(m Meta) bool {
	if n.bound(m) {
		return true
	}
	bound, _ := n.cfg.FSM.Query().VoterIdentity(m.ID)
	key := "claim|" + m.ID + "|" + m.Identity
	n.admitMu.Lock()
	defer n.admitMu.Unlock()
	if _, again := n.refused[key]; !again {
		n.log.Warn("refusing server: its node id belongs to another server (a different identity in its data dir); only `operator raft remove-peer` frees an id",
			"node_id", m.ID, "address", m.Raft, "identity", m.Identity, "bound_identity", bound)
	}
	n.refused[key] = time.Now()
	return false
}

// bound reports whether m may be trusted as the server its id names: its
// id is bound to m's identity, or to none yet (a cluster's first voters
// until a leader has bound them, a fraction of a second; their cluster
// certificates are checked all the same). These servers may receive unseal
// shares or leadership.
func (n *Node) bound(m Meta) bool {
	if m.ID == n.cfg.NodeID {
		return true
	}
	id, ok := n.cfg.FSM.Query().VoterIdentity(m.ID)
	return !ok || (m.Identity != "" && id == m.Identity)
}

// bindVoter records m's identity as the owner of its node id (leader only).
func (n *Node) bindVoter(m Meta) error {
	if m.Identity == "" {
		return errors.New("the server gossips no identity")
	}
	cmd, err := fsm.NewCommand(fsm.CmdBindVoter, &fsmpb.Voter{NodeId: m.ID, Identity: m.Identity}, n.cfg.Now())
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := n.Apply(ctx, cmd); err != nil {
		return err
	}
	n.log.Info("bound node id to server identity", "node_id", m.ID, "identity", m.Identity)
	return nil
}
