package cluster

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/memberlist"
	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"
	bolt "go.etcd.io/bbolt"
	"google.golang.org/grpc"

	"github.com/keyraft/keyraft/fsm"
	"github.com/keyraft/keyraft/fsm/fsmpb"
	"github.com/keyraft/keyraft/snapshots"
	"github.com/keyraft/keyraft/transport/raftstream"
)

var (
	// ErrNotLeader: the operation needs the leader and this server is not it.
	ErrNotLeader = errors.New("this server is not the leader")
	// ErrNoLeader: no leader is known right now; retry.
	ErrNoLeader = errors.New("no leader is elected")
	// ErrUnknownPeer: remove-peer named a server that is not in the configuration.
	ErrUnknownPeer = errors.New("no such server in the raft configuration")
)

// Node is one server's Raft member and gossip agent.
type Node struct {
	cfg    Config
	log    hclog.Logger
	raft   *raft.Raft
	store  *raftboltdb.BoltStore
	ml     *memberlist.Memberlist
	boot   string
	stopCh chan struct{}
	wg     sync.WaitGroup

	// identity is this server's public identity, idKey its key, from its
	// data dir (identity.go).
	identity string
	idKey    ed25519.PrivateKey
	// raftRef is raft for the transport's dials, which may start before
	// NewRaft has returned and n.raft is set.
	raftRef atomic.Pointer[raft.Raft]

	metaMu sync.Mutex // guards meta against gossip reads and local updates
	meta   Meta

	membersMu sync.Mutex      // guards members against event callbacks vs readers
	members   map[string]Meta // live peers by node name, from memberlist events
	// reconnecting is set while a reconnect (rejoin.go) join runs.
	reconnecting atomic.Bool
	gossipAt     map[string]string // their gossip addresses (host:port), same keys

	// peersKick wakes knownPeersLoop (rejoin.go) on a membership change.
	peersKick chan struct{}

	connMu sync.Mutex // guards conns
	conns  map[string]*grpc.ClientConn

	admitMu  sync.Mutex           // guards admitted and refused, from the bootstrap and leader loops
	admitted map[string]bool      // servers whose certificate passed, by id|boot|raft address
	refused  map[string]time.Time // when a server's certificate last failed, same keys

	// kick wakes the reconcile loop early (membership or seal changed).
	kick chan struct{}

	// readyTerm is the term in which this server, as leader, has applied
	// every entry committed before its term began (a raft Barrier). Until
	// then its FSM may lag the log, and answers from it could be stale.
	readyTerm atomic.Uint64

	// bootLastIndex is the last index of the log this server started with;
	// caughtUp latches once it has applied it (Serving).
	bootLastIndex uint64
	caughtUp      atomic.Bool

	// clocks samples the peers' wall clocks from gossip acks (clockping.go).
	clocks *pingClock

	disk diskWatch // free space and writes waiting for it (disk.go)

	// ap is the leader's autopilot bookkeeping, removalAudit the
	// operator API's record of autopilot's removals (autopilot.go).
	ap           apTracker
	removalAudit atomic.Pointer[RemovalAudit]
}

// Start opens the stores in DataDir, starts Raft and memberlist, and begins
// discovery; it returns once the listeners are up, not once a leader exists.
func Start(cfg Config) (*Node, error) {
	cfg.setDefaults()
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, err
	}
	idKey, err := loadIdentity(cfg.DataDir)
	if err != nil {
		return nil, err
	}
	identity := publicIdentity(idKey)
	bootBytes := make([]byte, 8)
	if _, err := rand.Read(bootBytes); err != nil {
		return nil, err
	}
	n := &Node{
		cfg:       cfg,
		log:       cfg.Logger,
		boot:      hex.EncodeToString(bootBytes),
		identity:  identity,
		idKey:     idKey,
		stopCh:    make(chan struct{}),
		conns:     map[string]*grpc.ClientConn{},
		kick:      make(chan struct{}, 1),
		members:   map[string]Meta{},
		gossipAt:  map[string]string{},
		peersKick: make(chan struct{}, 1),
		admitted:  map[string]bool{},
		refused:   map[string]time.Time{},
		clocks:    &pingClock{wall: cfg.Wall},
		ap:        apTracker{downSince: map[string]time.Time{}, lastBoot: map[string]string{}, removing: map[string]bool{}},
	}
	n.disk.waiting.Store("")
	n.disk.full.Store("")
	n.measureDisk()
	if cfg.FSM != nil {
		cfg.FSM.OnDiskFull(n.log.Named("fsm"), cfg.Reserve.Release)
	}
	hasState, err := n.startRaft()
	if err != nil {
		return nil, err
	}
	n.meta = Meta{
		ID: cfg.NodeID, Raft: cfg.RaftAdvertise, Cluster: cfg.ClusterAdvertise,
		API: cfg.APIAdvertise, Boot: n.boot, Identity: identity, HasState: hasState, Sealed: cfg.Sealed(),
	}
	if e := n.localNoSpace(); e != nil {
		n.meta.NoSpace = e.gossiped()
	}
	if err := n.startGossip(); err != nil {
		n.raft.Shutdown()
		n.store.Close()
		return nil, err
	}
	known := n.loadKnownPeers()
	n.wg.Add(7)
	go n.autopilotLoop()
	go n.diskLoop()
	go n.watchLeadership()
	go n.joinLoop(known)
	go n.knownPeersLoop(known)
	go n.bootstrapLoop()
	go n.leaderLoop()
	if n.cfg.Metrics != nil {
		n.wg.Add(1)
		go n.watchLeaders()
	}
	return n, nil
}

func (n *Node) startRaft() (hasState bool, err error) {
	rc := raft.DefaultConfig()
	rc.LocalID = raft.ServerID(n.cfg.NodeID)
	rc.Logger = n.log.Named("raft")
	rc.HeartbeatTimeout = n.cfg.HeartbeatTimeout
	rc.ElectionTimeout = n.cfg.ElectionTimeout
	rc.LeaderLeaseTimeout = n.cfg.HeartbeatTimeout / 2
	rc.SnapshotThreshold = n.cfg.SnapshotThreshold
	rc.TrailingLogs = n.cfg.TrailingLogs
	rc.SnapshotInterval = n.cfg.SnapshotInterval
	rc.BatchApplyCh = true

	// The freelist is rebuilt on open instead of written with every
	// commit: smaller writes on the hot path, same durability. It is kept
	// as a map of free spans, as etcd keeps it: the default array is
	// merged on every commit, which after a write burst had grown raft.db
	// to 561 MiB made a 100,000-key cluster spend 1.8× the empty one's
	// CPU per Encrypt (1.19× with the map; docs/performance.md "Scale").
	// Only the in-memory form changes, so existing files open as before.
	store, err := raftboltdb.New(raftboltdb.Options{
		Path:        filepath.Join(n.cfg.DataDir, "raft.db"),
		BoltOptions: &bolt.Options{Timeout: 2 * time.Second, NoFreelistSync: true, FreelistType: bolt.FreelistMapType},
	})
	if err != nil {
		return false, fmt.Errorf("open raft store: %w", err)
	}
	n.store = store
	logs, err := raft.NewLogCache(512, &reserveLogs{LogStore: store, n: n})
	if err != nil {
		store.Close()
		return false, err
	}
	// The snapshot store links the audit segments a snapshot references
	// instead of copying the whole audit log into every snapshot.
	snaps, err := snapshots.New(filepath.Join(n.cfg.DataDir, "snapshots"), 2, n.log.Named("snapshot"))
	if err != nil {
		store.Close()
		return false, fmt.Errorf("open snapshot store: %w", err)
	}
	adv, err := net.ResolveTCPAddr("tcp", n.cfg.RaftAdvertise)
	if err != nil {
		store.Close()
		return false, fmt.Errorf("raft advertise address: %w", err)
	}
	trans, err := n.raftTransport(adv)
	if err != nil {
		store.Close()
		return false, fmt.Errorf("raft listener: %w", err)
	}
	hasState, err = raft.HasExistingState(logs, store, snaps)
	if err != nil {
		store.Close()
		return false, err
	}
	r, err := raft.NewRaft(rc, n.raftFSM(), logs, &waitStable{StableStore: store, n: n}, snaps, trans)
	if err != nil {
		store.Close()
		return false, err
	}
	n.raft = r
	n.raftRef.Store(r)
	n.bootLastIndex = r.LastIndex()
	return hasState, nil
}

// raftTransport is raft's TCP transport, over mutual TLS when configured,
// holding appends to a peer that is down until it listens again
// (promptTransport).
func (n *Node) raftTransport(adv net.Addr) (raft.Transport, error) {
	const maxPool, timeout = 3, 10 * time.Second
	logger := n.log.Named("raft-net")
	if n.cfg.TLS == nil {
		t, err := raft.NewTCPTransportWithLogger(n.cfg.RaftAddr, adv, maxPool, timeout, logger)
		if err != nil {
			return nil, err
		}
		return &promptTransport{NetworkTransport: t, stop: n.stopCh, moved: n.movedFrom}, nil
	}
	layer, err := raftstream.Listen(n.cfg.RaftAddr, adv, n.cfg.TLS)
	if err != nil {
		return nil, err
	}
	layer.NameDialed(n.raftIDAt)
	layer.Prove(n.idKey)
	layer.RequireBound(n.boundKey)
	return &promptTransport{NetworkTransport: raft.NewNetworkTransportWithConfig(&raft.NetworkTransportConfig{
		Stream: layer, MaxPool: maxPool, Timeout: timeout, Logger: logger,
	}), stop: n.stopCh, moved: n.movedFrom}, nil
}

// movedFrom reports whether gossip shows server id alive at a raft address
// other than target (promptTransport).
func (n *Node) movedFrom(id raft.ServerID, target raft.ServerAddress) bool {
	n.membersMu.Lock()
	m, ok := n.members[string(id)]
	n.membersMu.Unlock()
	return ok && m.Raft != "" && m.Raft != string(target)
}

// boundKey is the identity key bound to a node id in replicated state, for
// the raft layer's proof check. A binding that does not parse is bound to
// a key no one holds.
func (n *Node) boundKey(id string) (ed25519.PublicKey, bool) {
	if n.cfg.FSM == nil {
		return nil, false
	}
	s, ok := n.cfg.FSM.Query().VoterIdentity(id)
	if !ok {
		return nil, false
	}
	pub, _ := parseIdentity(s)
	return pub, true
}

// raftIDAt is the node id the raft configuration gives address, or "".
func (n *Node) raftIDAt(address raft.ServerAddress) string {
	r := n.raftRef.Load()
	if r == nil {
		return ""
	}
	f := r.GetConfiguration()
	if f.Error() != nil {
		return ""
	}
	for _, s := range f.Configuration().Servers {
		if s.Address == address {
			return string(s.ID)
		}
	}
	return ""
}

// Shutdown leaves gossip, stops Raft and closes the stores.
func (n *Node) Shutdown() {
	select {
	case <-n.stopCh:
		return
	default:
	}
	close(n.stopCh)
	if n.cfg.FSM != nil {
		n.cfg.FSM.Abandon() // an Apply waiting for disk space would hold raft's shutdown forever
	}
	n.wg.Wait()
	if n.ml != nil {
		_ = n.ml.Leave(time.Second)
		_ = n.ml.Shutdown()
	}
	_ = n.raft.Shutdown().Error()
	_ = n.store.Close()
	n.connMu.Lock()
	for _, c := range n.conns {
		c.Close()
	}
	n.connMu.Unlock()
}

// ID is this server's node id.
func (n *Node) ID() string { return n.cfg.NodeID }

// Raft exposes the raft handle for stats and tests.
func (n *Node) Raft() *raft.Raft { return n.raft }

// IsLeader reports whether this server believes it leads.
func (n *Node) IsLeader() bool { return n.raft.State() == raft.Leader }

// LeaderID is the node id of the current leader, or "" when none is known.
func (n *Node) LeaderID() string {
	_, id := n.raft.LeaderWithID()
	return string(id)
}

// watchLeadership runs a Barrier each time this server becomes leader, and
// marks it ready to answer from its FSM once the Barrier has applied.
func (n *Node) watchLeadership() {
	defer n.wg.Done()
	for {
		select {
		case <-n.stopCh:
			return
		case leader := <-n.raft.LeaderCh():
			if !leader {
				continue
			}
			term := n.raft.CurrentTerm()
			if err := n.raft.Barrier(30 * time.Second).Error(); err != nil {
				n.log.Warn("leader barrier failed", "term", term, "error", err)
				continue
			}
			if n.raft.CurrentTerm() == term && n.IsLeader() {
				n.readyTerm.Store(term)
				n.log.Info("leader ready: all earlier entries applied", "term", term)
			}
		}
	}
}

// WaitReady waits until this server leads and its FSM has applied every
// entry committed before its term; it returns ErrNotLeader when it loses
// leadership or ctx ends first.
func (n *Node) WaitReady(ctx context.Context) error {
	for {
		if !n.IsLeader() {
			return ErrNotLeader
		}
		if n.readyTerm.Load() == n.raft.CurrentTerm() {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w: leader not ready: %v", ErrNotLeader, ctx.Err())
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// Apply proposes a command and waits for it to be applied on this (leader)
// server (an fsm.Proposer): the FSM's refusal is an *fsm.RefusedError, any
// other error the cluster's. While any voter is short of disk space
// (-min-free-disk, or a store write waiting for space) nothing is
// proposed: the answer is a *NoSpaceError.
func (n *Node) Apply(ctx context.Context, cmd []byte) (fsm.Result, error) {
	if n.raft.State() != raft.Leader {
		return fsm.Result{}, ErrNotLeader
	}
	if err := n.noSpace(); err != nil {
		return fsm.Result{}, err
	}
	return n.propose(ctx, cmd)
}

// ApplyFreeing is Apply for a command that frees disk space (an audit
// retention trim): it is proposed even while a voter is short of space,
// as etcd still takes compactions under its NOSPACE alarm, since it is
// what lets the disks recover. -min-free-disk leaves it the room.
func (n *Node) ApplyFreeing(ctx context.Context, cmd []byte) (fsm.Result, error) {
	if n.raft.State() != raft.Leader {
		return fsm.Result{}, ErrNotLeader
	}
	return n.propose(ctx, cmd)
}

func (n *Node) propose(ctx context.Context, cmd []byte) (fsm.Result, error) {
	timeout := 10 * time.Second
	if dl, ok := ctx.Deadline(); ok {
		timeout = time.Until(dl)
	}
	if n.raft.State() != raft.Leader {
		return fsm.Result{}, ErrNotLeader
	}
	start := time.Now()
	f := n.raft.Apply(cmd, timeout)
	if err := f.Error(); err != nil {
		return fsm.Result{}, mapRaftErr(err)
	}
	n.cfg.Metrics.Commit(time.Since(start))
	return fsm.ResultOf(f.Response())
}

func mapRaftErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, raft.ErrNotLeader), errors.Is(err, raft.ErrLeadershipLost),
		errors.Is(err, raft.ErrLeadershipTransferInProgress):
		return fmt.Errorf("%w: %w", ErrNotLeader, err)
	default:
		return err
	}
}

// NotAppended reports whether err, from Apply or ForwardAudit, proves the
// command never reached the Raft log, so that proposing it again cannot
// record it twice: no leader was known, the server asked did not lead or
// was handing leadership off, or Raft could not take the command in time.
// Leadership lost after the command was appended leaves its fate open (a
// later leader may still commit it), as does any other error.
func NotAppended(err error) bool {
	switch {
	case err == nil, errors.Is(err, raft.ErrLeadershipLost):
		return false
	case errors.Is(err, ErrNoLeader), errors.Is(err, ErrNotLeader), errors.Is(err, raft.ErrEnqueueTimeout),
		errors.Is(err, ErrNoSpace):
		return true
	}
	return false
}

// Peer is one server of the Raft configuration as list-peers shows it.
type Peer struct {
	ID      string `json:"node_id"`
	Address string `json:"address"`
	Voter   bool   `json:"voter"`
	Leader  bool   `json:"leader"`
	Sealed  *bool  `json:"sealed,omitempty"`
	Alive   bool   `json:"alive"`
}

// Peers lists the Raft configuration with what gossip knows of each server.
func (n *Node) Peers() ([]Peer, error) {
	f := n.raft.GetConfiguration()
	if err := f.Error(); err != nil {
		return nil, err
	}
	leader := n.LeaderID()
	members := n.aliveMembers()
	var out []Peer
	for _, s := range f.Configuration().Servers {
		p := Peer{ID: string(s.ID), Address: string(s.Address), Voter: s.Suffrage == raft.Voter, Leader: string(s.ID) == leader}
		if m, ok := members[p.ID]; ok {
			sealed := m.Sealed
			p.Sealed, p.Alive = &sealed, true
		}
		out = append(out, p)
	}
	return out, nil
}

// HandOff transfers this leader's leadership to the most up-to-date other
// voter and waits until some other server leads, up to wait.
func (n *Node) HandOff(wait time.Duration) error {
	if err := n.raft.LeadershipTransfer().Error(); err != nil {
		return mapRaftErr(err)
	}
	deadline := time.Now().Add(wait)
	for {
		if id := n.LeaderID(); id != "" && id != n.cfg.NodeID {
			return nil
		}
		if time.Now().After(deadline) {
			return ErrNoLeader
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// RemovePeer removes a server from the Raft configuration (leader only) and
// tombstones its current process so reconciliation does not re-add it while
// it keeps gossiping; once it restarts it is a new process and may rejoin.
func (n *Node) RemovePeer(ctx context.Context, id string) error {
	if !n.IsLeader() {
		return ErrNotLeader
	}
	f := n.raft.GetConfiguration()
	if err := f.Error(); err != nil {
		return err
	}
	found := false
	for _, s := range f.Configuration().Servers {
		found = found || string(s.ID) == id
	}
	if !found {
		return ErrUnknownPeer
	}
	boot := ""
	if m, ok := n.aliveMembers()[id]; ok {
		boot = m.Boot
	}
	return n.removePeer(ctx, id, boot)
}

// removePeer removes server id and tombstones the process whose boot
// nonce is boot ("" tombstones none: the id's binding is dropped all the
// same, so a new process may claim it).
func (n *Node) removePeer(ctx context.Context, id, boot string) error {
	if !n.IsLeader() {
		return ErrNotLeader
	}
	cmd, err := fsm.NewCommand(fsm.CmdRemovePeer, &fsmpb.RemovePeer{NodeId: id, BootNonce: boot}, n.cfg.Now())
	if err != nil {
		return err
	}
	if _, err := n.Apply(ctx, cmd); err != nil {
		return err
	}
	return mapRaftErr(n.raft.RemoveServer(raft.ServerID(id), 0, 0).Error())
}
