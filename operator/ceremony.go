package operator

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/hashicorp/raft"

	"github.com/keyraft/keyraft/arn"
	"github.com/keyraft/keyraft/cluster"
	"github.com/keyraft/keyraft/fsm"
	"github.com/keyraft/keyraft/fsm/fsmpb"
	"github.com/keyraft/keyraft/iam"
	"github.com/keyraft/keyraft/internal/version"
	"github.com/keyraft/keyraft/seal"
)

// Errors of the operator seal and init calls.
var (
	ErrAlreadyInitialized = errors.New("keyraft is already initialized")
	ErrNotInitialized     = errors.New("keyraft is not initialized yet (or this node has not caught up)")
	ErrRestoreRunning     = errors.New("a snapshot restore is running on this cluster: init is refused until it ends (if you did not start it, someone else reached this uninitialised cluster first)")
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
func (a *API) Initialize(ctx context.Context, r *http.Request, shares, threshold int) (*InitResult, error) {
	// Init and a restore exclude each other: an unsigned restore of an
	// uninitialised cluster must not land after an init it raced.
	if !a.restoring.TryLock() {
		return nil, ErrRestoreRunning
	}
	defer a.restoring.Unlock()
	if a.State.Initialized() {
		return nil, ErrAlreadyInitialized
	}
	if !a.Node.IsLeader() {
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
	event, err := a.operatorEvent(r, "", "OperatorInit", initParams(shares, threshold), nil)
	if err != nil {
		return nil, err
	}
	now := a.Now()
	cmd, err := fsm.NewAuditedCommand(fsm.CmdInit, &fsmpb.Init{
		Shares: uint32(shares), Threshold: uint32(threshold), SealedKeyring: sealedKR,
		RootAccessKey: &fsmpb.AccessKey{
			AccessKeyId: akid, SealedSecret: sealedSecret, CreateDate: now.UnixNano(),
			PrincipalArn: arn.Root(a.Account),
		},
	}, now, event)
	if err != nil {
		return nil, err
	}
	if _, err := a.Node.Apply(ctx, cmd); err != nil {
		if errors.Is(err, fsm.ErrAlreadyInitialized) {
			return nil, ErrAlreadyInitialized
		}
		return nil, err
	}
	a.Log.Info("cluster initialized", "shares", shares, "threshold", threshold, "access_key_id", akid)
	ok = true
	return res, nil
}

// Unseal gives this node one share (or resets its progress).
func (a *API) Unseal(share []byte, reset bool) (seal.Status, error) {
	if reset {
		return a.Barrier.ResetProgress(), nil
	}
	in, initialized := a.awaitInit(15 * time.Second)
	if !initialized {
		return a.Barrier.Status(0), ErrNotInitialized
	}
	st, err := a.Barrier.Unseal(share, in.SealedKeyring, in.Threshold)
	if err == nil && !st.Sealed {
		// The terms rotation added after those the sealed keyring holds;
		// read again, as a rotation may have applied while this unsealed.
		if latest, ok := a.State.Init(); ok {
			if uerr := a.Barrier.Upgrade(latest.KeyringUpgrades); uerr != nil {
				a.Log.Error("unsealed, but the keyring's newer terms do not open", "error", uerr)
			}
		}
		a.Log.Info("node unsealed")
	}
	if errors.Is(err, seal.ErrWrongShares) {
		a.Log.Warn("unseal attempt failed: wrong shares; progress reset")
	}
	return st, err
}

// awaitInit returns the init record, waiting for it when a leader exists
// or this server belongs to a cluster: right after init, or right after a
// restart (before the leader's first heartbeat, and until the log it
// restarted with is committed again), a follower may not have applied it
// yet, and an unseal arriving then should not fail for that.
func (a *API) awaitInit(wait time.Duration) (fsm.InitRecord, bool) {
	deadline := time.Now().Add(wait)
	for {
		in, ok := a.State.Init()
		if ok || (a.Node.LeaderID() == "" && !a.Node.HasClusterState()) || time.Now().After(deadline) {
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
func (a *API) RecordSetup(ctx context.Context, name string, params map[string]any) error {
	return a.recordOperatorEvent(ctx, nil, "", name, params, nil)
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
	// LastContactMS is how long ago, in milliseconds, this follower last
	// heard from its leader (0 on the leader, or before any contact). Past
	// the heartbeat timeout the follower answers 503 rather than forward,
	// so an operator can see why a node refuses while a leader is named.
	LastContactMS int64  `json:"last_contact_ms"`
	Version       string `json:"version"`
	// KeyringTerm and ResealRemaining: the keyring's newest term and the
	// values still sealed under older ones (operator rotate).
	KeyringTerm     uint32 `json:"keyring_term"`
	ResealRemaining int    `json:"reseal_remaining"`
	// Alarms are the NOSPACE alarms this node knows of (its own and those
	// other servers gossip); while there is one, writes are refused.
	Alarms []cluster.Alarm `json:"alarms,omitempty"`
	// Ready: this node serves KMS requests now (Ready); NotReady says why
	// not.
	Ready    bool   `json:"ready"`
	NotReady string `json:"not_ready,omitempty"`
}

// Ready reports whether this node serves KMS requests now: initialised,
// unsealed, and (cluster.Node.Serving) leading with its log applied, or
// following a leader it hears from and reaches, having caught up with the
// log it restarted with. A load balancer should send traffic only here.
func (a *API) Ready() (bool, string) {
	if _, ok := a.State.Init(); !ok {
		return false, "not initialized"
	}
	if a.Barrier.Status(0).Sealed {
		return false, "sealed"
	}
	return a.Node.Serving()
}

// Status reports this node's seal and Raft state.
func (a *API) Status() Status {
	in, initialized := a.State.Init()
	st := a.Barrier.Status(in.Threshold)
	r := a.Node.Raft()
	ready, why := a.Ready()
	return Status{
		Ready: ready, NotReady: why,
		Insecure:    a.Insecure,
		Initialized: initialized, Sealed: st.Sealed, Progress: st.Progress, Threshold: in.Threshold,
		Shares: in.Shares, Nonce: st.Nonce, NodeID: a.NodeID, LeaderID: a.Node.LeaderID(),
		RaftState: r.State().String(), RaftIndex: r.AppliedIndex(), Term: r.CurrentTerm(),
		LastContactMS: lastContactMS(r),
		Version:       version.String(),
		Alarms:        a.Alarms(),
		KeyringTerm:   in.KeyringTerm, ResealRemaining: a.KeyStatus().ResealRemaining,
	}
}

func lastContactMS(r *raft.Raft) int64 {
	if r.State() == raft.Leader {
		return 0
	}
	lc := r.LastContact()
	if lc.IsZero() {
		return 0
	}
	return time.Since(lc).Milliseconds()
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
