package cluster

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hashicorp/raft"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/keyraft/keyraft/transport/clusterpb"
	"github.com/keyraft/keyraft/transport/nodeproof"
)

// ForwardTimeout bounds one forwarded request, commit included.
const ForwardTimeout = 15 * time.Second

// proofTimeout bounds reading or sending an identity proof on a new
// cluster connection.
const proofTimeout = 10 * time.Second

// client returns a cached gRPC client for server id at its cluster
// address. With cluster TLS, the server must present a certificate of the
// cluster CA that names id and prove the identity key bound to id
// (nodeproof), so neither a forwarded request (with its SigV4 headers) nor
// an unseal share goes to a server that only claims the id, or holds its
// stolen certificate.
func (n *Node) client(id, addr string) (clusterpb.ClusterClient, error) {
	key := id + "@" + addr
	n.connMu.Lock()
	defer n.connMu.Unlock()
	if c, ok := n.conns[key]; ok {
		return clusterpb.NewClusterClient(c), nil
	}
	creds := insecure.NewCredentials()
	if n.cfg.TLS != nil {
		creds = nodeproof.Creds(credentials.NewTLS(n.cfg.TLS.ClientConfig(id)), n.idKey, n.boundKey, proofTimeout)
	}
	c, err := grpc.NewClient(addr, grpc.WithTransportCredentials(creds))
	if err != nil {
		return nil, err
	}
	n.conns[key] = c
	return clusterpb.NewClusterClient(c), nil
}

// leaderClient finds the leader's cluster address through gossip.
func (n *Node) leaderClient() (clusterpb.ClusterClient, string, error) {
	id := n.LeaderID()
	if id == "" {
		return nil, "", ErrNoLeader
	}
	m, ok := n.aliveMembers()[id]
	if !ok {
		return nil, "", fmt.Errorf("%w: leader %s is not reachable by gossip", ErrNoLeader, id)
	}
	c, err := n.client(id, m.Cluster)
	return c, id, err
}

// Forward runs req on the leader and returns its answer unchanged.
func (n *Node) Forward(ctx context.Context, req *clusterpb.HTTPRequest) (*clusterpb.HTTPResponse, error) {
	c, id, err := n.leaderClient()
	if err != nil {
		return nil, err
	}
	if id == n.cfg.NodeID {
		return nil, ErrNotLeader // we lead after all; the caller should serve locally
	}
	// A follower that has not heard from its leader for a heartbeat timeout
	// is most likely cut off from it (and about to stand for election):
	// answering 503 now lets the client go elsewhere instead of waiting out
	// ForwardTimeout on a leader it cannot reach.
	if lc := n.raft.LastContact(); !lc.IsZero() && time.Since(lc) > n.cfg.HeartbeatTimeout {
		return nil, fmt.Errorf("%w: no contact with leader %s for %s", ErrNoLeader, id, time.Since(lc).Round(time.Millisecond))
	}
	// A paused or partitioned leader must not hang the client: give up and
	// let it retry once the cluster elects a leader it can reach.
	ctx, cancel := context.WithTimeout(ctx, ForwardTimeout)
	defer cancel()
	return c.Forward(ctx, req)
}

// UnsealPeers sends a share to every other live voter and reports each
// answer. A share goes only where the receiver proves it is that voter: it
// is in the raft configuration, it carries the identity bound to its id,
// and (client) its cluster certificate chains to the cluster CA and names
// the id. Without cluster TLS no server can prove it, and nothing is sent.
func (n *Node) UnsealPeers(ctx context.Context, share []byte) (map[string]*clusterpb.UnsealResponse, error) {
	if n.cfg.TLS == nil {
		return nil, ErrInsecureUnseal
	}
	f := n.raft.GetConfiguration()
	if err := f.Error(); err != nil {
		return nil, mapRaftErr(err)
	}
	members := n.aliveMembers()
	out := map[string]*clusterpb.UnsealResponse{}
	for _, s := range f.Configuration().Servers {
		id := string(s.ID)
		if id == n.cfg.NodeID || s.Suffrage != raft.Voter {
			continue
		}
		m, ok := members[id]
		switch {
		case !ok:
			out[id] = &clusterpb.UnsealResponse{NodeId: id, Error: "not reachable by gossip; no share sent", Sealed: true}
			continue
		case !n.bound(m):
			out[id] = &clusterpb.UnsealResponse{NodeId: id, Error: "the server gossiping this id does not carry the identity bound to it; no share sent", Sealed: true}
			continue
		}
		c, err := n.client(id, m.Cluster)
		if err != nil {
			out[id] = &clusterpb.UnsealResponse{NodeId: id, Error: err.Error(), Sealed: true}
			continue
		}
		callCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
		resp, err := c.Unseal(callCtx, &clusterpb.UnsealRequest{Share: share})
		cancel()
		if err != nil {
			resp = &clusterpb.UnsealResponse{NodeId: id, Error: err.Error(), Sealed: true}
		}
		out[id] = resp
	}
	return out, nil
}

// ForwardAudit has the leader commit one audit event.
func (n *Node) ForwardAudit(ctx context.Context, event []byte) error {
	c, id, err := n.leaderClient()
	if err != nil {
		return err
	}
	if id == n.cfg.NodeID {
		return ErrNotLeader
	}
	resp, err := c.Audit(ctx, &clusterpb.AuditRequest{Event: event})
	if err != nil {
		return err
	}
	switch resp.Error {
	case "":
		return nil
	case ErrNotLeader.Error():
		// The server's answer when it was asked while not leading: the
		// event went nowhere (NotAppended).
		return ErrNotLeader
	}
	if strings.Contains(resp.Error, ErrNoSpace.Error()) {
		// Refused before it was proposed (a voter is short of disk): it
		// went nowhere either, and may be offered again.
		return fmt.Errorf("%w: %s", ErrNoSpace, resp.Error)
	}
	return errors.New(resp.Error)
}

// ServerCreds wraps the cluster gRPC server's TLS credentials so that each
// connection it accepts carries this server's identity proof, which every
// client (client above) reads and checks.
func (n *Node) ServerCreds(tlsCreds credentials.TransportCredentials) credentials.TransportCredentials {
	return nodeproof.Creds(tlsCreds, n.idKey, n.boundKey, proofTimeout)
}
