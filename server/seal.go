package server

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/keyraft/keyraft/arn"
	"github.com/keyraft/keyraft/cluster"
	"github.com/keyraft/keyraft/fsm"
	"github.com/keyraft/keyraft/fsm/fsmpb"
	"github.com/keyraft/keyraft/iam"
	"github.com/keyraft/keyraft/internal/wipe"
	"github.com/keyraft/keyraft/seal"
	"github.com/keyraft/keyraft/transport/sigv4"
)

// Errors of the operator seal and init calls.
var (
	ErrAlreadyInitialized = errors.New("keyraft is already initialized")
	ErrNotInitialized     = errors.New("keyraft is not initialized yet (or this node has not caught up)")
)

// InitResult is what init shows exactly once. Its secrets are bytes so that
// Forget can zero them once shown.
type InitResult struct {
	Shares          [][]byte
	Threshold       int
	AccessKeyID     string
	SecretAccessKey []byte
}

// Forget zeroes the shares and the secret access key.
func (r *InitResult) Forget() {
	for _, s := range r.Shares {
		clear(s)
	}
	clear(r.SecretAccessKey)
}

// Initialize creates the root key, the keyring and the first access key,
// commits the sealed keyring and sealed secret, and returns the shares. It
// must run on the leader. The root key never leaves this function. The
// init carries its own OperatorInit event (from r, when a request asked),
// so neither commits without the other.
func (s *Server) Initialize(ctx context.Context, r *http.Request, shares, threshold int) (*InitResult, error) {
	if s.fsm.Query().Initialized() {
		return nil, ErrAlreadyInitialized
	}
	if !s.node.IsLeader() {
		return nil, cluster.ErrNotLeader
	}
	root, err := seal.GenerateRootKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	defer clear(root)
	parts, err := seal.Split(root, shares, threshold)
	if err != nil {
		return nil, err
	}
	kr, err := seal.NewKeyring(rand.Reader)
	if err != nil {
		return nil, err
	}
	defer kr.Zero()
	sealedKR, err := seal.SealKeyring(root, kr, rand.Reader)
	if err != nil {
		return nil, err
	}
	res := &InitResult{Shares: parts, Threshold: threshold}
	ok := false
	defer func() {
		if !ok {
			res.Forget()
		}
	}()
	akid, secret, err := iam.NewAccessKey()
	if err != nil {
		return nil, err
	}
	res.AccessKeyID, res.SecretAccessKey = akid, secret
	sealedSecret, err := kr.Seal(iam.SecretPath(akid), secret, rand.Reader)
	if err != nil {
		return nil, err
	}
	event, err := s.operatorEvent(r, "", "OperatorInit", initParams(shares, threshold), nil)
	if err != nil {
		return nil, err
	}
	now := s.clock.Now()
	cmd, err := fsm.NewAuditedCommand(fsm.CmdInit, &fsmpb.Init{
		Shares: uint32(shares), Threshold: uint32(threshold), SealedKeyring: sealedKR,
		RootAccessKey: &fsmpb.AccessKey{
			AccessKeyId: akid, SealedSecret: sealedSecret, CreateDate: now.UnixNano(),
			PrincipalArn: arn.Root(s.cfg.Account),
		},
	}, now, event)
	if err != nil {
		return nil, err
	}
	if _, err := s.node.Apply(ctx, cmd); err != nil {
		if errors.Is(err, fsm.ErrAlreadyInitialized) {
			return nil, ErrAlreadyInitialized
		}
		return nil, err
	}
	s.log.Info("cluster initialized", "shares", shares, "threshold", threshold, "access_key_id", akid)
	ok = true
	return res, nil
}

// Unseal gives this node one share (or resets its progress).
func (s *Server) Unseal(share []byte, reset bool) (seal.Status, error) {
	if reset {
		return s.barrier.ResetProgress(), nil
	}
	in, initialized := s.awaitInit(15 * time.Second)
	if !initialized {
		return s.barrier.Status(0), ErrNotInitialized
	}
	st, err := s.barrier.Unseal(share, in.SealedKeyring, in.Threshold)
	if err == nil && !st.Sealed {
		s.log.Info("node unsealed")
	}
	if errors.Is(err, seal.ErrWrongShares) {
		s.log.Warn("unseal attempt failed: wrong shares; progress reset")
	}
	return st, err
}

// awaitInit returns the init record, waiting for it when a leader exists:
// right after init, or right after a restart (Raft backs off replication to
// a peer that was down for up to ~10 s), a follower may not have applied it
// yet, and an unseal arriving then should not fail for that.
func (s *Server) awaitInit(wait time.Duration) (fsm.InitRecord, bool) {
	deadline := time.Now().Add(wait)
	for {
		in, ok := s.fsm.Query().Init()
		if ok || s.node.LeaderID() == "" || time.Now().After(deadline) {
			return in, ok
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// initParams are the members of an OperatorInit event's requestParameters.
func initParams(shares, threshold int) map[string]any {
	return map[string]any{"secretShares": shares, "secretThreshold": threshold}
}

// RecordSetup audits an operator action this process took on its own,
// with no request behind it: `server -dev` unseals itself (its init
// carries its own event), and its log should still begin as a cluster's
// does.
func (s *Server) RecordSetup(ctx context.Context, name string, params map[string]any) error {
	return s.recordOperatorEvent(ctx, nil, "", name, params, nil)
}

// Seal drops every unsealed secret from memory on this node: the keyring,
// the key material cache and the SigV4 signing keys are zeroed, not merely
// dropped (docs/security.md says what remains best effort).
func (s *Server) Seal() {
	s.barrier.Seal()
	s.kms.DropSecrets()
	for _, v := range []*sigv4.Verifier{s.verifier, s.iamVerifier, s.operatorVerifier} {
		v.Forget()
	}
	// Then the copies no code here holds: request and answer buffers that
	// net/http, crypto/tls and encoding/json pool or dropped unzeroed
	// (scrub.go).
	s.forgetConnections()
	wipe.Heap()
	s.log.Info("node sealed")
}

// Status is the answer of `operator status`.
type Status struct {
	Initialized bool   `json:"initialized"`
	Sealed      bool   `json:"sealed"`
	Insecure    bool   `json:"insecure"` // the server runs with -insecure
	Progress    int    `json:"progress"`
	Threshold   int    `json:"threshold"`
	Shares      int    `json:"shares"`
	Nonce       string `json:"nonce"`
	NodeID      string `json:"node_id"`
	LeaderID    string `json:"leader_id"`
	RaftState   string `json:"raft_state"`
	RaftIndex   uint64 `json:"raft_index"`
	Term        uint64 `json:"term"`
	// Alarms are the NOSPACE alarms this node knows of (its own and those
	// other servers gossip); while there is one, writes are refused.
	Alarms []cluster.Alarm `json:"alarms,omitempty"`
}

// Status reports this node's seal and Raft state.
func (s *Server) Status() Status {
	in, initialized := s.fsm.Query().Init()
	st := s.barrier.Status(in.Threshold)
	r := s.node.Raft()
	return Status{
		Insecure:    s.cfg.Insecure,
		Initialized: initialized, Sealed: st.Sealed, Progress: st.Progress, Threshold: in.Threshold,
		Shares: in.Shares, Nonce: st.Nonce, NodeID: s.cfg.NodeID, LeaderID: s.node.LeaderID(),
		RaftState: r.State().String(), RaftIndex: r.AppliedIndex(), Term: r.CurrentTerm(),
		Alarms: s.alarms(),
	}
}

func describeUnsealErr(err error) string {
	switch {
	case errors.Is(err, seal.ErrWrongShares):
		return "unseal failed: the shares given do not reconstruct the root key; unseal progress was reset"
	case errors.Is(err, seal.ErrInvalidShare):
		return "invalid unseal share: it is not a share of this cluster's root key (wrong length or encoding); progress kept"
	default:
		return fmt.Sprint(err)
	}
}
