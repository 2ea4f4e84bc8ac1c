package node

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	"github.com/keyraft/keyraft/audit"
	"github.com/keyraft/keyraft/cluster"
	"github.com/keyraft/keyraft/clusterclock"
	"github.com/keyraft/keyraft/fsm"
	"github.com/keyraft/keyraft/gateway"
	"github.com/keyraft/keyraft/iam"
	"github.com/keyraft/keyraft/internal/datadir"
	"github.com/keyraft/keyraft/internal/failtally"
	"github.com/keyraft/keyraft/internal/version"
	"github.com/keyraft/keyraft/kms"
	"github.com/keyraft/keyraft/metrics"
	"github.com/keyraft/keyraft/operator"
	"github.com/keyraft/keyraft/seal"
	"github.com/keyraft/keyraft/transport/clusterpb"
	"github.com/keyraft/keyraft/transport/connlimit"
	"github.com/keyraft/keyraft/transport/sigv4"
)

// Server is one running keyraft node: it builds the state machine, the
// seal barrier, the cluster node and the services, and runs the gateway
// and the operator API on its listeners.
type Server struct {
	cfg      Config
	log      hclog.Logger
	fsm      *fsm.FSM
	barrier  *seal.Barrier
	node     *cluster.Node
	kms      *kms.Service
	verifier *sigv4.Verifier
	// IAM operations are signed for the "iam" service, on the same endpoint.
	iamVerifier *sigv4.Verifier
	// operatorVerifier checks the operator API requests that need a
	// principal.
	operatorVerifier *sigv4.Verifier
	iam              *iam.Service

	auditStore *audit.Store
	batcher    *audit.Batcher

	apiLn     net.Listener
	apiLimit  *connlimit.Listener // the API listener's connection caps, below TLS
	clusterLn net.Listener
	http      *http.Server
	grpc      *grpc.Server
	stop      chan struct{}

	// gateway serves the KMS and IAM API; operator the operator API.
	gateway  *gateway.Gateway
	operator *operator.API
	events   *gateway.Events

	// authFailures counts the requests refused for their signature,
	// which the operator API records once a minute at most.
	authFailures failtally.Tally

	// scrub overwrites the free heap after a sealing connection closes (scrub.go).
	scrub scrubAfter

	// clock is the cluster clock every timestamp this node proposes comes
	// from; clockAlarm is the latest alarm about it (clock.go).
	clock      *clusterclock.Clock
	clockAlarm atomic.Pointer[string]

	// metrics is this node's registry, served on GET /metrics (metrics.go).
	metrics *metrics.Metrics
}

// Start brings the node up sealed. It returns once every listener is bound;
// the cluster forms in the background.
func Start(cfg Config) (*Server, error) {
	if cfg.Logger == nil {
		cfg.Logger = hclog.New(&hclog.LoggerOptions{Name: "keyraft", Level: hclog.Info})
	}
	// Settings left at zero take their default first: Validate refuses a
	// zero where it means nothing (an autopilot threshold), which a caller
	// that leaves the field unset does not mean.
	cfg.Complete()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	adv := map[string]string{}
	for name, bind := range map[string]string{"api": cfg.APIAddr, "cluster": cfg.ClusterAddr, "raft": cfg.RaftAddr, "gossip": cfg.GossipAddr} {
		a, err := advertised(bind, cfg.Advertise)
		if err != nil {
			return nil, fmt.Errorf("%s address: %w", name, err)
		}
		adv[name] = a
	}
	apiTLS, clusterTLS, err := loadTLS(&cfg)
	if err != nil {
		return nil, err
	}
	if err := checkClusterAuth(&cfg, clusterTLS); err != nil {
		return nil, err
	}
	if err := datadir.Prepare(cfg.DataDir); err != nil {
		return nil, err
	}
	reserve := diskReserve(cfg, cfg.Logger)
	store, err := audit.Open(filepath.Join(cfg.DataDir, "audit"))
	if err != nil {
		return nil, err
	}
	if cfg.AuditSegmentSize > 0 {
		store.SetSegmentSize(cfg.AuditSegmentSize)
	}
	s := &Server{cfg: cfg, log: cfg.Logger, fsm: fsm.New(store), auditStore: store, barrier: seal.NewBarrier(), stop: make(chan struct{}), metrics: metrics.New()}
	s.clock = &clusterclock.Clock{Last: s.fsm.LastTimestamp, Wall: cfg.Wall}
	// A rotation reaches every unsealed node's keyring as it applies.
	s.fsm.SetKeyringObserver(func(upgrades [][]byte) {
		if err := s.barrier.Upgrade(upgrades); err != nil {
			s.log.Error("the keyring's new term does not open under this node's keyring", "error", err)
		}
	})
	// One audit proposal in flight: events that arrive meanwhile all ride
	// in the next entry. Measured with keyraft bench on 3 nodes, 16 clients:
	// 1340 ops/s and 846 µs of server CPU per request, against 1096 and
	// 1107 with 2 in flight (each Raft round costs ~4 ms of CPU in fsyncs).
	s.batcher = &audit.Batcher{Propose: s.proposeAudit, MaxInFlight: 1, MaxWait: auditBatchWait, MaxReturnWait: cfg.AuditReturnWait, Metrics: s.metrics.Audit}
	s.kms = &kms.Service{Region: cfg.Region, Account: cfg.Account, State: s.fsm.Query(), Keyring: s.barrier.Keyring, DayLength: cfg.DayLength, Now: s.clock.Now}
	s.verifier = &sigv4.Verifier{Region: cfg.Region, Service: "kms", Secret: s.secretFor}
	s.iamVerifier = &sigv4.Verifier{Region: cfg.Region, Service: "iam", Secret: s.secretFor}
	s.operatorVerifier = &sigv4.Verifier{Region: cfg.Region, Service: operator.SigningService, Secret: s.secretFor, PathNamesOperation: true}
	s.iam = &iam.Service{Account: cfg.Account, State: s.fsm.Query(), Keyring: s.barrier.Keyring, Now: s.clock.Now}
	s.events = &gateway.Events{Region: cfg.Region, Account: cfg.Account, NodeID: cfg.NodeID, State: s.fsm.Query(), Now: s.clock.Now}

	if s.apiLn, err = net.Listen("tcp", cfg.APIAddr); err != nil {
		store.Close()
		return nil, fmt.Errorf("api listener: %w", err)
	}
	s.apiLn = s.limitAPI(s.apiLn)
	if apiTLS != nil {
		s.apiLn = tls.NewListener(s.apiLn, apiTLS)
	}
	if s.clusterLn, err = net.Listen("tcp", cfg.ClusterAddr); err != nil {
		s.apiLn.Close()
		store.Close()
		return nil, fmt.Errorf("cluster listener: %w", err)
	}
	s.clusterLn = s.limitCluster(s.clusterLn)
	s.node, err = cluster.Start(cluster.Config{
		Cluster:       cfg.Cluster,
		RaftAdvertise: adv["raft"], GossipAdvertise: adv["gossip"],
		ClusterAdvertise: adv["cluster"], APIAdvertise: adv["api"],
		TLS: clusterTLS,
		FSM: s.fsm, Logger: cfg.Logger.Named("cluster"),
		Sealed:      func() bool { return s.barrier.Status(0).Sealed },
		Initialized: s.fsm.Query().Initialized,
		Wall:        cfg.Wall, Now: s.clock.Now,
		Reserve: reserve, Metrics: s.metrics.Raft, AutopilotMetrics: s.metrics.Autopilot,
	})
	if err != nil {
		s.apiLn.Close()
		s.clusterLn.Close()
		store.Close()
		return nil, err
	}
	s.kms.Propose = s.node.Apply
	s.iam.Propose = s.node.Apply
	s.gateway = &gateway.Gateway{
		Log: cfg.Logger, State: s.fsm.Query(), Node: s.node, Events: s.events, Sealed: s.sealed,
		Services:    gateway.Services{KMS: s.kms, IAM: s.iam},
		KMSVerifier: s.verifier, IAMVerifier: s.iamVerifier,
		Batcher: s.batcher, AuthFailures: &s.authFailures, Metrics: s.metrics.Gateway,
	}
	s.watchMetrics()
	s.operator = &operator.API{
		NodeID: cfg.NodeID, Region: cfg.Region, Account: cfg.Account, Insecure: cfg.Insecure,
		Log: cfg.Logger, State: s.fsm.Query(), Barrier: s.barrier, Node: s.node, IAM: s.iam,
		Verifier: s.operatorVerifier, Batcher: s.batcher, AuditStore: store, Events: s.events,
		AuthFailures: &s.authFailures, Now: s.clock.Now,
		Seal: s.Seal, ScrubAfter: s.scrub.mark, Alarms: s.alarms, WriteTimeout: s.writeTimeout(),
		ScratchDir: cfg.DataDir,
	}
	s.operator.Start(s.stop)
	s.node.OnAutopilotRemoval(s.operator.AutopilotRemoved)
	resealBatch, resealEvery := cfg.ResealBatch, cfg.ResealInterval
	if resealBatch <= 0 {
		resealBatch = 64
	}
	if resealEvery <= 0 {
		resealEvery = 100 * time.Millisecond
	}
	go s.operator.RunReseal(s.stop, resealBatch, resealEvery)

	grpcOpts := []grpc.ServerOption{grpc.ConnectionTimeout(clusterHandshakeTimeout)}
	if clusterTLS != nil {
		grpcOpts = append(grpcOpts, grpc.Creds(s.node.ServerCreds(credentials.NewTLS(clusterTLS.ServerConfig()))))
	}
	s.grpc = grpc.NewServer(grpcOpts...)
	clusterpb.RegisterClusterServer(s.grpc, &rpcService{s: s})
	s.http = s.apiHTTPServer()
	limitState := s.http.ConnState
	s.http.ConnContext = connContext
	s.http.ConnState = func(c net.Conn, st http.ConnState) { limitState(c, st); s.scrub.connState(c, st) }
	s.scrub.done = func() { s.log.Info("free memory overwritten after seal") }
	go func() { _ = s.grpc.Serve(s.clusterLn) }()
	go func() { _ = s.http.Serve(s.apiLn) }()
	go s.watchSeal()
	go s.housekeeping()
	s.log.Info("keyraft node started", "version", version.String(), "node_id", cfg.NodeID, "api", s.apiLn.Addr().String(),
		"cluster", adv["cluster"], "raft", adv["raft"], "gossip", adv["gossip"],
		"api_tls", apiTLS != nil, "cluster_tls", clusterTLS != nil, "gossip_encrypted", len(cfg.GossipKey) > 0)
	if cfg.Insecure {
		go s.warnInsecure()
	}
	return s, nil
}

// watchSeal tells the cluster layer of every seal and unseal; it gossips the
// state and hands leadership away. (Seal drops the cached secrets itself,
// before it returns.)
func (s *Server) watchSeal() {
	ch := s.barrier.Subscribe()
	for {
		select {
		case <-s.stop:
			return
		case <-ch:
			s.node.SealChanged()
		}
	}
}

// housekeeping lets the leader propose the time-based transitions (key
// deletion when its window ends, scheduled rotation), which Apply cannot
// make itself without a clock.
func (s *Server) housekeeping() {
	every := 10 * time.Second
	if s.cfg.DayLength > 0 && s.cfg.DayLength < 24*time.Hour {
		every = max(s.cfg.DayLength/4, 100*time.Millisecond)
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
		}
		clockOK := s.checkClock()
		// On every node: a former leader's caches may hold material that
		// has since been deleted or has expired.
		s.kms.DropStaleSecrets()
		if !s.node.IsLeader() {
			continue
		}
		if !clockOK {
			s.log.Warn("holding key deletion, scheduled rotation and audit trimming by age: the clocks disagree", "alarm", s.ClockAlarm())
		}
		ctx, cancel := context.WithTimeout(context.Background(), every)
		if err := s.trimAudit(ctx, clockOK); err != nil {
			s.log.Warn("audit retention", "error", err)
		}
		if _, err := s.barrier.Keyring(); err != nil || !clockOK {
			cancel()
			continue // rotation needs the keyring; a sealed leader hands off soon
		}
		if err := s.kms.Housekeeping(ctx); err != nil {
			s.log.Warn("housekeeping", "error", err)
		}
		cancel()
	}
}

// sealed reports whether the barrier's keyring is closed.
func (s *Server) sealed() bool {
	_, err := s.barrier.Keyring()
	return err != nil
}

// secretFor returns an access key's secret, opened under the keyring, as a
// fresh copy that the verifier zeroes once it has used it: no secret stays
// in memory between requests, so sealing (which drops the keyring) leaves
// none behind.
func (s *Server) secretFor(accessKeyID string) ([]byte, bool) {
	ak, ok := s.fsm.Query().AccessKey(accessKeyID)
	if !ok {
		return nil, false
	}
	kr, err := s.barrier.Keyring()
	if err != nil {
		return nil, false
	}
	secret, err := kr.Open(iam.SecretPath(accessKeyID), ak.SealedSecret)
	if err != nil {
		return nil, false
	}
	return secret, true
}

// ServeHTTP routes the API listener: KMS and IAM at POST /, the operator
// API below /v1/sys/.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.serve(w, r, gateway.Origin{}) }

// serve routes a request that came as from says: on the API listener, or
// forwarded by a follower (rpc.go).
func (s *Server) serve(w http.ResponseWriter, r *http.Request, from gateway.Origin) {
	switch {
	case r.URL.Path == "/":
		s.gateway.Serve(w, r, from)
	case r.URL.Path == "/metrics" && !from.Forwarded:
		s.serveMetrics(w, r)
	case r.URL.Path == "/v1/sys/unseal" && r.Method == http.MethodPost:
		s.countUnseal(w, r, from)
	case strings.HasPrefix(r.URL.Path, "/v1/sys/"):
		s.operator.Serve(w, r, from)
	default:
		http.NotFound(w, r)
	}
}

// Initialize runs the init ceremony on this node, which must lead
// (operator.API.Initialize); `server -dev` initialises itself with it.
func (s *Server) Initialize(ctx context.Context, r *http.Request, shares, threshold int) (*operator.InitResult, error) {
	return s.operator.Initialize(ctx, r, shares, threshold)
}

// Unseal gives this node one share (operator.API.Unseal).
func (s *Server) Unseal(share []byte, reset bool) (seal.Status, error) {
	return s.operator.Unseal(share, reset)
}

// RecordSetup audits an operator action the process took on its own
// (operator.API.RecordSetup).
func (s *Server) RecordSetup(ctx context.Context, name string, params map[string]any) error {
	return s.operator.RecordSetup(ctx, name, params)
}

// APIAddr is the address the API listener is bound to.
func (s *Server) APIAddr() string { return s.apiLn.Addr().String() }

// Node exposes the cluster node (status, tests).
func (s *Server) Node() *cluster.Node { return s.node }

// Shutdown stops the listeners, seals, and stops Raft.
func (s *Server) Shutdown() {
	select {
	case <-s.stop:
		return
	default:
	}
	close(s.stop)
	s.node.Leave(5 * time.Second) // a leader hands off first: no election for a restart
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	_ = s.http.Shutdown(ctx)
	s.grpc.Stop()
	s.Seal()
	s.node.Shutdown()
	_ = s.auditStore.Close()
}
