package cluster

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	"google.golang.org/grpc"

	"github.com/keyraft/keyraft/audit"
	"github.com/keyraft/keyraft/config"
	"github.com/keyraft/keyraft/fsm"
	"github.com/keyraft/keyraft/internal/testport"
	"github.com/keyraft/keyraft/metrics"
	"github.com/keyraft/keyraft/transport/clusterpb"
)

// statsServer is the cluster listener's AutopilotStats alone (node serves
// the whole service).
type statsServer struct {
	clusterpb.UnimplementedClusterServer
	n *Node
}

func (s statsServer) AutopilotStats(context.Context, *clusterpb.AutopilotStatsRequest) (*clusterpb.AutopilotStatsResponse, error) {
	return s.n.LocalAutopilotStats(), nil
}

// TestAutopilotRemovesADeadServer: three nodes in this process (real raft
// over TCP, real boltdb, real gossip, the stats over real gRPC) with a
// dead-server cleanup of 1 s and a minimum quorum of 2. Autopilot finds the
// three healthy (failure tolerance 1, the leader's gauges say so); one
// follower stopped is removed through remove-peer's path (its binding
// dropped, the removal handed to the audit hook), and the remaining two are
// healthy with no failure tolerance.
func TestAutopilotRemovesADeadServer(t *testing.T) {
	var nodes []*Node
	var seed string
	var gauges []*metrics.Metrics
	for i := range 3 {
		store, err := audit.Open(filepath.Join(t.TempDir(), "audit"))
		if err != nil {
			t.Fatal(err)
		}
		raftAddr := fmt.Sprintf("127.0.0.1:%d", testport.Take(t))
		gossip := fmt.Sprintf("127.0.0.1:%d", testport.Take(t))
		if i == 0 {
			seed = gossip
		}
		ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", testport.Take(t)))
		if err != nil {
			t.Fatal(err)
		}
		m := metrics.New()
		gauges = append(gauges, m)
		n, err := Start(Config{
			Cluster: config.Cluster{
				NodeID: fmt.Sprintf("n%d", i+1), DataDir: t.TempDir(),
				RaftAddr: raftAddr, GossipAddr: gossip,
				Join: []string{seed}, BootstrapExpect: 3,
				AutopilotDeadServerCleanup: time.Second, AutopilotMinQuorum: 2,
			},
			RaftAdvertise: raftAddr, GossipAdvertise: gossip,
			ClusterAdvertise: ln.Addr().String(),
			APIAdvertise:     fmt.Sprintf("127.0.0.1:%d", testport.Take(t)),
			FSM:              fsm.New(store),
			Sealed:           func() bool { return false }, Initialized: func() bool { return true },
			AutopilotMetrics: m.Autopilot,
		})
		if err != nil {
			t.Fatal(err)
		}
		srv := grpc.NewServer()
		clusterpb.RegisterClusterServer(srv, statsServer{n: n})
		go func() { _ = srv.Serve(ln) }()
		nodes = append(nodes, n)
		t.Cleanup(func() { srv.Stop(); n.Shutdown(); _ = store.Close() })
	}
	var leader *Node
	waitUntil(t, 30*time.Second, "autopilot to find three healthy voters", func() bool {
		for _, n := range nodes {
			if s, err := n.AutopilotState(); err == nil {
				leader = n
				return s.Healthy && len(s.Voters) == 3 && s.FailureTolerance == 1
			}
		}
		return false
	})
	li := 0
	for i, n := range nodes {
		if n == leader {
			li = i
		}
	}
	if h := gauges[li].Sample("keyraft_autopilot_healthy", nil); h != 1 {
		t.Fatalf("leader's keyraft_autopilot_healthy = %v, want 1", h)
	}
	if ft := gauges[li].Sample("keyraft_autopilot_failure_tolerance", nil); ft != 1 {
		t.Fatalf("leader's keyraft_autopilot_failure_tolerance = %v, want 1", ft)
	}
	if _, err := nodes[(li+1)%3].AutopilotState(); err != ErrNotLeader {
		t.Fatalf("a follower's autopilot state: %v, want ErrNotLeader", err)
	}
	for i, m := range gauges {
		if i != li && m.Sample("keyraft_autopilot_healthy", nil) != 0 {
			t.Fatalf("follower n%d reports keyraft_autopilot_healthy", i+1)
		}
	}

	var mu sync.Mutex
	removed := map[string]error{}
	leader.OnAutopilotRemoval(func(id, reason string, err error) {
		mu.Lock()
		removed[id] = err
		mu.Unlock()
	})
	victim := nodes[(li+1)%3]
	victim.Shutdown()
	start := time.Now()
	waitUntil(t, 20*time.Second, "autopilot to remove the stopped "+victim.ID(), func() bool {
		peers, err := leader.Peers()
		return err == nil && len(peers) == 2
	})
	if time.Since(start) < time.Second {
		t.Fatalf("removed after %s, before the cleanup time", time.Since(start))
	}
	// A promotion decided on a state from before the removal does not add
	// the removed server back (raft's AddVoter would).
	if err := (promotionGuard{leader.raft}).AddVoter(raft.ServerID(victim.ID()), "127.0.0.1:1", 0, time.Second).Error(); err == nil {
		t.Fatal("the guard promoted a server no longer in the configuration")
	}
	if peers, err := leader.Peers(); err != nil || len(peers) != 2 {
		t.Fatalf("after a refused promotion: %+v %v", peers, err)
	}
	waitUntil(t, 5*time.Second, "the removal to reach the audit hook", func() bool {
		mu.Lock()
		defer mu.Unlock()
		err, ok := removed[victim.ID()]
		return ok && err == nil
	})
	if _, bound := leader.cfg.FSM.Query().VoterIdentity(victim.ID()); bound {
		t.Fatal("the removed server's id is still bound to its identity")
	}
	waitUntil(t, 10*time.Second, "autopilot to find the two left healthy", func() bool {
		s, err := leader.AutopilotState()
		return err == nil && s.Healthy && len(s.Voters) == 2 && s.FailureTolerance == 0
	})
}

func waitUntil(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
