package cluster

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/hashicorp/raft"
	autopilot "github.com/hashicorp/raft-autopilot"

	"github.com/keyraft/keyraft/transport/clusterpb"
)

// Autopilot (hashicorp/raft-autopilot) runs on the leader only, once its
// Barrier has applied (bindings are read from the FSM). It computes each
// server's health from the stats every server reports over the cluster
// gRPC (AutopilotStats), promotes a non-voter once it has been healthy for
// the stabilization time (reconcile.go adds new servers as non-voters),
// and, when dead-server cleanup is on, removes a server dead for that long
// through remove-peer's own path (audited as such).
const (
	autopilotUpdateInterval    = time.Second
	autopilotReconcileInterval = time.Second
	// autopilotStatsTimeout bounds one round of stats calls.
	autopilotStatsTimeout = 2 * time.Second
)

// ErrNoAutopilotState: this leader's autopilot has not computed a state yet.
var ErrNoAutopilotState = errors.New("autopilot has no state yet (it starts once this leader has applied the log); retry")

// apTracker is what the leader's autopilot delegate remembers between
// rounds: since when each server of the configuration has been dead (not
// in gossip as the identity bound to its id), the boot nonce it was last
// seen alive with (for remove-peer's tombstone), and the removals running.
type apTracker struct {
	mu        sync.Mutex
	downSince map[string]time.Time
	lastBoot  map[string]string
	removing  map[string]bool
	state     *autopilot.State
}

// RemovalAudit records a removal that autopilot made (reason says why), with
// its outcome, as an operator's remove-peer is recorded. The operator API
// sets it (node wires it); until then removals are only logged.
type RemovalAudit func(nodeID, reason string, err error)

// OnAutopilotRemoval sets the function that audits autopilot's removals.
func (n *Node) OnAutopilotRemoval(f RemovalAudit) { n.removalAudit.Store(&f) }

// autopilotDelegate is autopilot's view of the application: this Node.
type autopilotDelegate struct{ n *Node }

var _ autopilot.ApplicationIntegration = autopilotDelegate{}

func (n *Node) autopilotConfig() *autopilot.Config {
	c := n.cfg.Cluster
	return &autopilot.Config{
		CleanupDeadServers:      c.AutopilotDeadServerCleanup > 0,
		LastContactThreshold:    c.AutopilotLastContactThreshold,
		MaxTrailingLogs:         c.AutopilotMaxTrailingLogs,
		MinQuorum:               c.AutopilotMinQuorum,
		ServerStabilizationTime: c.AutopilotServerStabilization,
	}
}

func (d autopilotDelegate) AutopilotConfig() *autopilot.Config { return d.n.autopilotConfig() }

// NotifyState keeps the state for the operator API and the metrics.
func (d autopilotDelegate) NotifyState(s *autopilot.State) {
	d.n.ap.mu.Lock()
	d.n.ap.state = s
	d.n.ap.mu.Unlock()
	d.n.cfg.AutopilotMetrics.State(s.Healthy, s.FailureTolerance)
}

// KnownServers is every server of the raft configuration (so that
// autopilot never removes one behind remove-peer's back as "stale"). A
// server is dead from the first round gossip does not show it with the
// identity bound to its id (a process gossiping its id with another
// identity, a wiped data dir or a thief, does not count) or it does not
// answer the stats call, until it answers again (Vault's last contact). With dead-server cleanup on, a dead server is
// reported alive (its health failing on its stats) until it has been dead
// for the cleanup time, then failed, which is what autopilot removes.
func (d autopilotDelegate) KnownServers() map[raft.ServerID]*autopilot.Server {
	n := d.n
	f := n.raft.GetConfiguration()
	if f.Error() != nil {
		return nil
	}
	members := n.aliveMembers()
	cleanup := n.cfg.AutopilotDeadServerCleanup
	now := time.Now()
	out := map[raft.ServerID]*autopilot.Server{}
	n.ap.mu.Lock()
	defer n.ap.mu.Unlock()
	inConfig := map[string]bool{}
	for _, s := range f.Configuration().Servers {
		id := string(s.ID)
		inConfig[id] = true
		srv := &autopilot.Server{
			ID: s.ID, Name: id, Address: s.Address, NodeStatus: autopilot.NodeAlive,
			RaftVersion: raft.ProtocolVersionMax, IsLeader: id == n.cfg.NodeID,
		}
		// Only voters count towards the minimum quorum: a non-voter not
		// yet promoted (perhaps never: a dead process still gossiping)
		// must not let cleanup remove a voter it cannot stand in for.
		if s.Suffrage == raft.Voter {
			srv.NodeType = autopilot.NodeVoter
		}
		m, ok := members[id]
		switch {
		case id == n.cfg.NodeID:
			delete(n.ap.downSince, id)
		case ok && n.bound(m):
			// Alive in gossip; FetchServerStats says whether it answers.
			n.ap.lastBoot[id] = m.Boot
		default:
			if _, seen := n.ap.downSince[id]; !seen {
				n.ap.downSince[id] = now
			}
		}
		if since, down := n.ap.downSince[id]; down && (cleanup <= 0 || now.Sub(since) >= cleanup) {
			srv.NodeStatus = autopilot.NodeFailed
		}
		out[s.ID] = srv
	}
	for id := range n.ap.downSince {
		if !inConfig[id] {
			delete(n.ap.downSince, id)
			delete(n.ap.lastBoot, id)
		}
	}
	return out
}

// FetchServerStats asks each server for its raft progress, at once and
// within the context; a server that does not answer (or is dead) gets a
// negative last contact, which autopilot counts as unhealthy.
func (d autopilotDelegate) FetchServerStats(ctx context.Context, servers map[raft.ServerID]*autopilot.Server) map[raft.ServerID]*autopilot.ServerStats {
	n := d.n
	ctx, cancel := context.WithTimeout(ctx, autopilotStatsTimeout)
	defer cancel()
	members := n.aliveMembers()
	var mu sync.Mutex
	var wg sync.WaitGroup
	out := map[raft.ServerID]*autopilot.ServerStats{}
	// Every server of the configuration is asked, not only those
	// autopilot passes (the ones it still counts alive): an answer is what
	// stops a server's dead time, so one reported failed may recover.
	ids := map[raft.ServerID]bool{}
	for id := range servers {
		ids[id] = true
	}
	if f := n.raft.GetConfiguration(); f.Error() == nil {
		for _, s := range f.Configuration().Servers {
			ids[s.ID] = true
		}
	}
	answered := func(id raft.ServerID, ok bool) {
		n.ap.mu.Lock()
		defer n.ap.mu.Unlock()
		if ok {
			delete(n.ap.downSince, string(id))
		} else if _, seen := n.ap.downSince[string(id)]; !seen {
			n.ap.downSince[string(id)] = time.Now()
		}
	}
	put := func(id raft.ServerID, st *autopilot.ServerStats) {
		mu.Lock()
		out[id] = st
		mu.Unlock()
	}
	for id := range ids {
		if string(id) == n.cfg.NodeID {
			st := n.localAutopilotStats()
			put(id, &autopilot.ServerStats{LastContact: time.Duration(st.LastContactMs) * time.Millisecond, LastTerm: st.LastTerm, LastIndex: st.LastIndex})
			continue
		}
		m, ok := members[string(id)]
		if !ok || !n.bound(m) {
			put(id, &autopilot.ServerStats{LastContact: -1})
			answered(id, false)
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			st := &autopilot.ServerStats{LastContact: -1}
			ok := false
			if c, err := n.client(string(id), m.Cluster); err == nil {
				if r, err := c.AutopilotStats(ctx, &clusterpb.AutopilotStatsRequest{}); err == nil && r.NodeId == string(id) {
					ok = true
					st = &autopilot.ServerStats{LastTerm: r.LastTerm, LastIndex: r.LastIndex, LastContact: time.Duration(r.LastContactMs) * time.Millisecond}
					if r.LastContactMs < 0 {
						st.LastContact = -1
					}
				}
			}
			if !ok {
				// gRPC backs off reconnecting up to two minutes; gossip
				// shows the server alive, so the next round dials it at once.
				n.resetBackoff(string(id), m.Cluster)
			}
			answered(id, ok)
			put(id, st)
		}()
	}
	wg.Wait()
	return out
}

// RemoveFailedServer removes a server dead for the cleanup time, in the
// background (autopilot expects this to return at once), through
// remove-peer: the tombstone names the last process seen with the
// server's identity, so that a new process under its id (a wiped data
// dir restarted) is admitted once the id is free; the removal is audited.
func (d autopilotDelegate) RemoveFailedServer(srv *autopilot.Server) {
	n := d.n
	id := string(srv.ID)
	n.ap.mu.Lock()
	if n.ap.removing[id] {
		n.ap.mu.Unlock()
		return
	}
	n.ap.removing[id] = true
	boot := n.ap.lastBoot[id]
	n.ap.mu.Unlock()
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		defer func() {
			n.ap.mu.Lock()
			delete(n.ap.removing, id)
			n.ap.mu.Unlock()
		}()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		reason := "autopilot: dead for " + n.cfg.AutopilotDeadServerCleanup.String() + " or more (dead-server cleanup)"
		n.log.Info("autopilot removing dead server", "node_id", id, "reason", reason)
		err := n.removePeer(ctx, id, boot)
		if err != nil {
			n.log.Warn("autopilot could not remove dead server", "node_id", id, "error", err)
		} else {
			// A server added again under this id (the wiped one) starts
			// with no dead time.
			n.ap.mu.Lock()
			delete(n.ap.downSince, id)
			delete(n.ap.lastBoot, id)
			n.ap.mu.Unlock()
		}
		if f := n.removalAudit.Load(); f != nil {
			(*f)(id, reason, err)
		}
	}()
}

// resetBackoff makes the cached client of server id at addr, if any, dial
// again at once instead of after its reconnect back-off.
func (n *Node) resetBackoff(id, addr string) {
	n.connMu.Lock()
	c, ok := n.conns[id+"@"+addr]
	n.connMu.Unlock()
	if ok {
		c.ResetConnectBackoff()
	}
}

// LocalAutopilotStats is this server's answer to the leader's
// AutopilotStats call.
func (n *Node) LocalAutopilotStats() *clusterpb.AutopilotStatsResponse {
	return n.localAutopilotStats()
}

func (n *Node) localAutopilotStats() *clusterpb.AutopilotStatsResponse {
	out := &clusterpb.AutopilotStatsResponse{NodeId: n.cfg.NodeID, LastIndex: n.raft.LastIndex(), LastContactMs: -1}
	out.LastTerm, _ = strconv.ParseUint(n.raft.Stats()["last_log_term"], 10, 64)
	switch {
	case n.IsLeader():
		out.LastContactMs = 0
	default:
		if lc := n.raft.LastContact(); !lc.IsZero() {
			out.LastContactMs = time.Since(lc).Milliseconds()
		}
	}
	return out
}

// autopilotLoop runs autopilot while this server leads and is ready, and
// stops it as soon as it does not.
func (n *Node) autopilotLoop() {
	defer n.wg.Done()
	ap := autopilot.New(promotionGuard{n.raft}, autopilotDelegate{n: n},
		autopilot.WithLogger(n.log.Named("autopilot")),
		autopilot.WithUpdateInterval(autopilotUpdateInterval),
		autopilot.WithReconcileInterval(autopilotReconcileInterval))
	running := false
	stop := func() {
		if !running {
			return
		}
		<-ap.Stop()
		running = false
		n.ap.mu.Lock()
		n.ap.state = nil
		n.ap.mu.Unlock()
		n.cfg.AutopilotMetrics.Stopped()
	}
	t := time.NewTicker(reconcileInterval)
	defer t.Stop()
	for {
		select {
		case <-n.stopCh:
			stop()
			return
		case <-t.C:
		}
		ready := n.IsLeader() && n.readyTerm.Load() == n.raft.CurrentTerm()
		switch {
		case ready && !running:
			// Dead time is counted from this leader's start: a server
			// is never removed for time no leader of ours watched.
			n.ap.mu.Lock()
			clear(n.ap.downSince)
			n.ap.mu.Unlock()
			ap.Start(context.Background())
			running = true
		case !ready && running:
			stop()
		}
	}
}

// promotionGuard is raft as autopilot gets it, but for promotions: a
// promotion is decided on a state up to a round old, and raft's AddVoter
// adds a server that is not in the configuration, so a server removed
// (remove-peer) since that state was computed would be added back. The
// guard promotes only a server the current configuration holds as a
// non-voter, at its address there, and passes the configuration's index
// so that raft refuses the change if the configuration moved meanwhile.
type promotionGuard struct{ *raft.Raft }

func (g promotionGuard) AddVoter(id raft.ServerID, _ raft.ServerAddress, _ uint64, timeout time.Duration) raft.IndexFuture {
	f := g.GetConfiguration()
	if err := f.Error(); err != nil {
		return refusedFuture{err}
	}
	for _, s := range f.Configuration().Servers {
		if s.ID == id && s.Suffrage == raft.Nonvoter {
			return g.Raft.AddVoter(id, s.Address, f.Index(), timeout)
		}
	}
	return refusedFuture{fmt.Errorf("not promoting %s: it is no longer a non-voter of the configuration", id)}
}

// refusedFuture is a change the guard did not make.
type refusedFuture struct{ err error }

func (f refusedFuture) Error() error  { return f.err }
func (f refusedFuture) Index() uint64 { return 0 }

// AutopilotServer is one server in AutopilotState (Vault's fields).
type AutopilotServer struct {
	ID          string    `json:"id"`
	Name        string    `json:"name"`
	Address     string    `json:"address"`
	NodeStatus  string    `json:"node_status"`
	Status      string    `json:"status"`
	LastContact string    `json:"last_contact"`
	LastTerm    uint64    `json:"last_term"`
	LastIndex   uint64    `json:"last_index"`
	Healthy     bool      `json:"healthy"`
	StableSince time.Time `json:"stable_since"`
	NodeType    string    `json:"node_type"`
	// Alive: gossip shows the server with the identity bound to its id
	// and it answered the leader's last stats call.
	Alive bool `json:"alive"`
	// DeadSince is when this leader first saw it dead, if it is.
	DeadSince *time.Time `json:"dead_since,omitempty"`
}

// AutopilotState is what GET /v1/sys/storage/raft/autopilot/state answers
// (Vault's shape, without its request envelope).
type AutopilotState struct {
	Healthy          bool                       `json:"healthy"`
	FailureTolerance int                        `json:"failure_tolerance"`
	Leader           string                     `json:"leader"`
	Voters           []string                   `json:"voters"`
	NonVoters        []string                   `json:"non_voters"`
	Servers          map[string]AutopilotServer `json:"servers"`
}

// AutopilotState is the leader's latest autopilot state: ErrNotLeader on
// a follower, ErrNoAutopilotState before the first round.
func (n *Node) AutopilotState() (*AutopilotState, error) {
	if !n.IsLeader() {
		return nil, ErrNotLeader
	}
	n.ap.mu.Lock()
	s := n.ap.state
	down := make(map[string]time.Time, len(n.ap.downSince))
	for id, t := range n.ap.downSince {
		down[id] = t
	}
	n.ap.mu.Unlock()
	if s == nil {
		return nil, ErrNoAutopilotState
	}
	out := &AutopilotState{Healthy: s.Healthy, FailureTolerance: s.FailureTolerance, Leader: string(s.Leader),
		Voters: []string{}, NonVoters: []string{}, Servers: map[string]AutopilotServer{}}
	for _, v := range s.Voters {
		out.Voters = append(out.Voters, string(v))
	}
	for id, ss := range s.Servers {
		srv := AutopilotServer{
			ID: string(id), Name: ss.Server.Name, Address: string(ss.Server.Address), NodeStatus: string(ss.Server.NodeStatus),
			Status: string(ss.State), LastTerm: ss.Stats.LastTerm, LastIndex: ss.Stats.LastIndex,
			Healthy: ss.Health.Healthy, StableSince: ss.Health.StableSince, NodeType: string(ss.Server.NodeType),
		}
		if ss.Stats.LastContact >= 0 {
			srv.LastContact = ss.Stats.LastContact.String()
		}
		if t, ok := down[string(id)]; ok {
			srv.DeadSince = &t
		} else {
			srv.Alive = true
		}
		if ss.State == autopilot.RaftNonVoter || ss.State == autopilot.RaftStaging {
			out.NonVoters = append(out.NonVoters, string(id))
		}
		out.Servers[string(id)] = srv
	}
	sort.Strings(out.NonVoters)
	return out, nil
}

// AutopilotConfiguration is the settings this leader's autopilot runs
// with (GET /v1/sys/storage/raft/autopilot/configuration), Vault's names.
type AutopilotConfiguration struct {
	CleanupDeadServers             bool   `json:"cleanup_dead_servers"`
	DeadServerLastContactThreshold string `json:"dead_server_last_contact_threshold"`
	LastContactThreshold           string `json:"last_contact_threshold"`
	MaxTrailingLogs                uint64 `json:"max_trailing_logs"`
	MinQuorum                      uint   `json:"min_quorum"`
	ServerStabilizationTime        string `json:"server_stabilization_time"`
}

// AutopilotConfiguration reports this server's autopilot settings (the
// leader's are the ones in force).
func (n *Node) AutopilotConfiguration() AutopilotConfiguration {
	c := n.cfg.Cluster
	return AutopilotConfiguration{
		CleanupDeadServers:             c.AutopilotDeadServerCleanup > 0,
		DeadServerLastContactThreshold: c.AutopilotDeadServerCleanup.String(),
		LastContactThreshold:           c.AutopilotLastContactThreshold.String(),
		MaxTrailingLogs:                c.AutopilotMaxTrailingLogs,
		MinQuorum:                      c.AutopilotMinQuorum,
		ServerStabilizationTime:        c.AutopilotServerStabilization.String(),
	}
}
