package cluster

import (
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/memberlist"
)

func splitHostPort(addr string) (string, int, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, err
	}
	p, err := strconv.Atoi(port)
	if err != nil {
		return "", 0, fmt.Errorf("port %q: %w", port, err)
	}
	return host, p, nil
}

func (n *Node) startGossip() error {
	mc := memberlist.DefaultLANConfig()
	mc.Name = n.cfg.NodeID
	host, port, err := splitHostPort(n.cfg.GossipAddr)
	if err != nil {
		return fmt.Errorf("gossip address: %w", err)
	}
	mc.BindAddr, mc.BindPort = host, port
	ahost, aport, err := splitHostPort(n.cfg.GossipAdvertise)
	if err != nil {
		return fmt.Errorf("gossip advertise address: %w", err)
	}
	mc.AdvertiseAddr, mc.AdvertisePort = ahost, aport
	// A server that restarts on a new IP (docker does this) may reclaim its
	// name from its own dead entry after a few seconds, instead of waiting
	// for memberlist to forget the dead node (~30 s) before it can rejoin.
	mc.DeadNodeReclaimTime = 5 * time.Second
	// With a key, memberlist encrypts every gossip packet and stream and
	// drops what is not encrypted under it (GossipVerifyIncoming/Outgoing
	// default to true).
	mc.SecretKey = n.cfg.GossipKey
	mc.Delegate = &delegate{n: n}
	mc.Events = &events{n: n}
	mc.Ping = n.clocks
	// A logger without log's timestamp prefix, so that hclog reads the
	// level memberlist writes first ("[DEBUG] memberlist: …") and the line
	// comes out in the node's format at that level (LogOutput would get
	// "2006/01/02 15:04:05 [DEBUG] …", logged whole as INFO).
	mc.LogOutput = nil
	mc.Logger = n.log.Named("gossip").StandardLogger(&hclog.StandardLoggerOptions{InferLevels: true})
	ml, err := memberlist.Create(mc)
	if err != nil {
		return fmt.Errorf("gossip listener: %w", err)
	}
	n.ml = ml
	return nil
}

// updateMeta changes this server's gossiped metadata and pushes it out.
func (n *Node) updateMeta(change func(*Meta)) {
	n.metaMu.Lock()
	before := n.meta
	change(&n.meta)
	changed := before != n.meta
	n.metaMu.Unlock()
	if changed && n.ml != nil {
		if err := n.ml.UpdateNode(2 * time.Second); err != nil {
			n.log.Warn("gossip metadata update", "error", err)
		}
	}
}

// aliveMembers maps node id to the metadata of every live server, this one
// included. It reads the copy the event callbacks keep: memberlist's own
// Members() hands out pointers into state it keeps changing.
func (n *Node) aliveMembers() map[string]Meta {
	n.membersMu.Lock()
	defer n.membersMu.Unlock()
	out := make(map[string]Meta, len(n.members)+1)
	for name, m := range n.members {
		out[name] = m
	}
	n.metaMu.Lock()
	out[n.cfg.NodeID] = n.meta
	n.metaMu.Unlock()
	return out
}

// observe records a member's metadata; memberlist calls the event delegate
// with its node lock held, so the node is read safely here.
func (n *Node) observe(node *memberlist.Node, alive bool) {
	meta, ok := decodeMeta(node.Meta)
	n.membersMu.Lock()
	defer n.membersMu.Unlock()
	if !alive {
		delete(n.members, node.Name)
		delete(n.gossipAt, node.Name)
	} else if ok && meta.ID != n.cfg.NodeID {
		n.members[node.Name] = meta
		n.gossipAt[node.Name] = net.JoinHostPort(node.Addr.String(), strconv.Itoa(int(node.Port)))
	}
	n.peersChanged()
}

type delegate struct{ n *Node }

func (d *delegate) NodeMeta(limit int) []byte {
	d.n.metaMu.Lock()
	m := d.n.meta
	d.n.metaMu.Unlock()
	b, err := m.encode(limit)
	if err != nil {
		d.n.log.Error("gossip metadata", "error", err)
		return nil
	}
	return b
}
func (d *delegate) NotifyMsg([]byte)                           {}
func (d *delegate) GetBroadcasts(overhead, limit int) [][]byte { return nil }
func (d *delegate) LocalState(join bool) []byte                { return nil }
func (d *delegate) MergeRemoteState(buf []byte, join bool)     {}

type events struct{ n *Node }

func (e *events) NotifyJoin(m *memberlist.Node)   { e.n.observe(m, true); e.n.wake() }
func (e *events) NotifyLeave(m *memberlist.Node)  { e.n.observe(m, false); e.n.wake() }
func (e *events) NotifyUpdate(m *memberlist.Node) { e.n.observe(m, true); e.n.wake() }
