package cluster

import (
	"encoding/binary"
	"sync"
	"time"

	"github.com/hashicorp/memberlist"
	"github.com/hashicorp/raft"
)

// Every gossip ping's ack carries the answering server's wall clock, so
// each server learns, without an RPC of its own, what its peers' clocks
// say. The cluster clock (package clusterclock) lets a server trust its
// own wall clock only when a majority of voters' clocks agree with it.

// peerWallFresh is how old a peer's clock sample may be and still count.
const peerWallFresh = 30 * time.Second

// pingClock is the memberlist.PingDelegate that exchanges wall clocks.
type pingClock struct {
	wall func() time.Time

	mu      sync.Mutex
	samples map[string]wallSample // by node id; guarded by mu
}

// wallSample is a peer's wall clock and the local instant (with its
// monotonic reading) at which the peer read it, estimated as half the
// round trip before the ack arrived.
type wallSample struct {
	wall int64
	at   time.Time
}

var _ memberlist.PingDelegate = (*pingClock)(nil)

func (p *pingClock) AckPayload() []byte {
	return binary.BigEndian.AppendUint64(nil, uint64(p.wall().UnixNano()))
}

func (p *pingClock) NotifyPingComplete(other *memberlist.Node, rtt time.Duration, payload []byte) {
	if other == nil || len(payload) != 8 {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.samples == nil {
		p.samples = map[string]wallSample{}
	}
	p.samples[other.Name] = wallSample{wall: int64(binary.BigEndian.Uint64(payload)), at: time.Now().Add(-rtt / 2)}
}

// walls estimates each peer's wall clock now, from samples fresher than
// peerWallFresh: the sample plus the time elapsed here since, measured on
// this server's monotonic clock (so a jump of its own wall clock does not
// move them).
func (p *pingClock) walls() map[string]time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := map[string]time.Time{}
	for id, s := range p.samples {
		if age := time.Since(s.at); age <= peerWallFresh {
			out[id] = time.Unix(0, s.wall).Add(age)
		}
	}
	return out
}

// PeerWalls estimates the wall clocks of the voters other than this
// server that recently answered a gossip ping, by node id.
func (n *Node) PeerWalls() map[string]time.Time {
	walls := n.clocks.walls()
	f := n.raft.GetConfiguration()
	if f.Error() != nil {
		return nil
	}
	voters := map[string]bool{}
	for _, s := range f.Configuration().Servers {
		voters[string(s.ID)] = s.Suffrage == raft.Voter
	}
	for id := range walls {
		if !voters[id] || id == n.cfg.NodeID {
			delete(walls, id)
		}
	}
	return walls
}

// Voters counts the voters in the Raft configuration (0 when it cannot be read).
func (n *Node) Voters() int {
	f := n.raft.GetConfiguration()
	if f.Error() != nil {
		return 0
	}
	count := 0
	for _, s := range f.Configuration().Servers {
		if s.Suffrage == raft.Voter {
			count++
		}
	}
	return count
}
