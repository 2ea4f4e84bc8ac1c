package e2e

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/kms"
)

// reconcileInterval is how often a leader adds the servers gossip shows it
// as voters (cluster/reconcile.go). A test that a server is NOT added
// watches a few of these rounds: nothing marks a round that leaves a server
// out.
const reconcileInterval = 500 * time.Millisecond

// cluster is keyraft processes on loopback that found each other by
// gossip, and the root credentials init gave them.
type cluster struct {
	t     *testing.T
	nodes []*proc
	creds initOutput
}

// adopt registers p's API as one of c's: the operator and audit helpers
// sign as c's root once init has filled c.creds.
func (c *cluster) adopt(p *proc) { apiCreds.Store(p.api, &c.creds) }

// add makes p one of c's nodes.
func (c *cluster) add(p *proc) {
	c.nodes = append(c.nodes, p)
	c.adopt(p)
}

// seeds is every node's gossip address, for a (re)started node to join.
func (c *cluster) seeds() []string {
	var s []string
	for _, p := range c.nodes {
		s = append(s, p.gossip)
	}
	return s
}

// startCluster starts three nodes n1..n3, with extra flags, that form a
// cluster, and waits until each answers; none is initialised.
func startCluster(t *testing.T, extra ...string) *cluster {
	return startClusterWith(t, nil, extra...)
}

// startClusterWith is startCluster with setup (when not nil) applied to
// each node before it starts.
func startClusterWith(t *testing.T, setup func(*proc), extra ...string) *cluster {
	c := &cluster{t: t}
	for i := 1; i <= 3; i++ {
		p := newProc(t, fmt.Sprintf("n%d", i), 3)
		p.args = append(p.args, extra...)
		if setup != nil {
			setup(p)
		}
		c.add(p)
	}
	for _, p := range c.nodes {
		p.start(c.seeds())
	}
	c.waitUp(15 * time.Second)
	return c
}

// startUnsealedCluster starts three nodes, initialises through one and
// unseals each of them.
func startUnsealedCluster(t *testing.T, extra ...string) *cluster {
	return startUnsealedClusterWith(t, nil, extra...)
}

// startUnsealedClusterWith is startUnsealedCluster with setup (when not
// nil) applied to each node before it starts.
func startUnsealedClusterWith(t *testing.T, setup func(*proc), extra ...string) *cluster {
	c := startClusterWith(t, setup, extra...)
	c.init("-key-shares", "3", "-key-threshold", "2")
	c.unsealEach()
	for _, p := range c.nodes {
		waitFor(t, 10*time.Second, p.id+" unsealed", func() (bool, error) {
			st, err := status(t, p.api)
			return err == nil && !st.Sealed, err
		})
	}
	return c
}

// startOneNode starts a one-node cluster n1 with extra flags and setup
// (when not nil) applied, initialises it with shares/threshold and returns
// it still sealed.
func startOneNode(t *testing.T, shares, threshold int, setup func(*proc), extra ...string) *cluster {
	t.Helper()
	c := &cluster{t: t}
	p := newProc(t, "n1", 1)
	p.args = append(p.args, extra...)
	if setup != nil {
		setup(p)
	}
	c.add(p)
	p.start(nil)
	c.init("-key-shares", fmt.Sprint(shares), "-key-threshold", fmt.Sprint(threshold))
	return c
}

// waitUp waits until every node answers its public status. Who leads is
// for principals to see (GET /v1/sys/status), and before init there are
// none: init itself waits for a leader (c.init).
func (c *cluster) waitUp(timeout time.Duration) {
	c.t.Helper()
	waitFor(c.t, timeout, "every node to answer", func() (bool, error) {
		for _, p := range c.nodes {
			if _, err := status(c.t, p.api); err != nil {
				return false, err
			}
		}
		return true, nil
	})
}

// init runs `operator init ARGS` through the first node, which forwards it
// to the leader, retrying while the cluster has none yet.
func (c *cluster) init(args ...string) {
	c.t.Helper()
	waitFor(c.t, 20*time.Second, "init (a leader to take it)", func() (bool, error) {
		err := operator(c.t, c.nodes[0].api, &c.creds, append([]string{"init"}, args...)...)
		if err != nil && strings.Contains(err.Error(), "already initialized") {
			c.t.Fatal(err)
		}
		return err == nil, err
	})
}

// waitInitialized waits until every node holds the init record.
func (c *cluster) waitInitialized(timeout time.Duration) {
	c.t.Helper()
	waitFor(c.t, timeout, "every node to hold the init record", func() (bool, error) {
		for _, p := range c.nodes {
			if st, err := status(c.t, p.api); err != nil || !st.Initialized {
				return false, err
			}
		}
		return true, nil
	})
}

func (c *cluster) byID(id string) *proc {
	for _, p := range c.nodes {
		if p.id == id {
			return p
		}
	}
	c.t.Fatalf("no node %q", id)
	return nil
}

// waitLeader waits until every live, unsealed node (all but skip) names
// the same leader, other than skip, and returns it. A sealed node cannot
// check the signature its Raft state needs, so it is not asked.
func (c *cluster) waitLeader(timeout time.Duration, skip string) *proc {
	c.t.Helper()
	var leader string
	waitFor(c.t, timeout, "a leader all live nodes agree on", func() (bool, error) {
		leader = ""
		for _, p := range c.nodes {
			if p.id == skip {
				continue
			}
			st, err := status(c.t, p.api)
			if err != nil {
				return false, err
			}
			if st.Sealed {
				continue // it cannot check a signature: who leads is not for anyone to see
			}
			if st.LeaderID == "" || st.LeaderID == skip || (leader != "" && st.LeaderID != leader) {
				return false, fmt.Errorf("%s sees leader %q", p.id, st.LeaderID)
			}
			leader = st.LeaderID
		}
		return leader != "", errors.New("every node is sealed")
	})
	return c.byID(leader)
}

func (c *cluster) follower(leader *proc) *proc {
	for _, p := range c.nodes {
		if p != leader {
			return p
		}
	}
	return nil
}

// unseal gives node p the threshold of shares, one operator call each.
func (c *cluster) unseal(p *proc) {
	c.t.Helper()
	waitFor(c.t, 30*time.Second, p.id+" to hold the init record", func() (bool, error) {
		st, err := status(c.t, p.api)
		return err == nil && st.Initialized, err
	})
	for _, k := range c.creds.Keys[:c.creds.Threshold] {
		if err := operator(c.t, p.api, nil, "unseal", k); err != nil {
			c.t.Fatal(err)
		}
	}
	st, err := status(c.t, p.api)
	if err != nil || st.Sealed {
		c.t.Fatalf("%s still sealed after %d shares: %+v %v", p.id, c.creds.Threshold, st, err)
	}
}

// unsealEach unseals every node, one at a time: plaintext (-insecure)
// clusters refuse unseal -all.
func (c *cluster) unsealEach() {
	c.t.Helper()
	for _, p := range c.nodes {
		c.unseal(p)
	}
}

// unsealAll runs `operator unseal -all SHARE` and maps node id to error text.
func unsealAll(t *testing.T, api, share string) map[string]string {
	t.Helper()
	var out struct {
		Nodes []struct {
			NodeID string `json:"node_id"`
			Error  string `json:"error"`
		} `json:"nodes"`
	}
	if err := operator(t, api, &out, "unseal", "-all", share); err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	for _, n := range out.Nodes {
		m[n.NodeID] = n.Error
	}
	return m
}

type peerInfo struct {
	ID      string `json:"node_id"`
	Address string `json:"address"`
	Alive   bool   `json:"alive"`
	Voter   bool   `json:"voter"`
}

// listPeers is `operator raft list-peers` through api.
func listPeers(t *testing.T, api string) ([]peerInfo, error) {
	var out struct {
		Peers []peerInfo `json:"peers"`
	}
	err := operator(t, api, &out, "raft", "list-peers")
	return out.Peers, err
}

// peer is the entry of id in api's list of peers, and whether there is one.
func peer(t *testing.T, api, id string) (peerInfo, bool, error) {
	peers, err := listPeers(t, api)
	for _, p := range peers {
		if p.ID == id {
			return p, true, err
		}
	}
	return peerInfo{}, false, err
}

// peerAddress is the raft address id holds in the configuration, "" when absent.
func peerAddress(t *testing.T, api, id string) string {
	t.Helper()
	p, _, err := peer(t, api, id)
	if err != nil {
		t.Fatal(err)
	}
	return p.Address
}

func inRaftConfiguration(t *testing.T, api, id string) (bool, error) {
	_, ok, err := peer(t, api, id)
	return ok, err
}

// waitGossipDead waits until the node at api's gossip declares id dead.
func waitGossipDead(t *testing.T, api, id string) {
	t.Helper()
	waitFor(t, 30*time.Second, "gossip to declare "+id+" dead", func() (bool, error) {
		p, ok, err := peer(t, api, id)
		return ok && !p.Alive, err
	})
}

// spread hands out clients of every node in turn, so that calls land on
// followers and the leader alike.
type spread struct {
	clients []*kms.Client
	n       atomic.Uint64
}

func newSpread(c *cluster) *spread {
	s := &spread{}
	for _, p := range c.nodes {
		s.clients = append(s.clients, kmsClient(p.api, c.creds, 3))
	}
	return s
}

func (s *spread) next() *kms.Client {
	return s.clients[int(s.n.Add(1))%len(s.clients)]
}

func ctx10(t *testing.T) context.Context { return ctxTimeout(t, 10*time.Second) }
