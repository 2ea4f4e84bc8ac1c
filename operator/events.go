package operator

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/google/uuid"

	"github.com/keyraft/keyraft/cluster"
	"github.com/keyraft/keyraft/gateway"
	"github.com/keyraft/keyraft/transport/clusterpb"
)

// Operator actions are audited as KMS requests are, through the leader's
// group commit; those that must not wait for a leader (seal, unseal) are
// offered to one in the background.

// recordOperatorEvent audits an operator action once: init and
// remove-peer, which run on the leader and answer only after their event.
func (a *API) recordOperatorEvent(ctx context.Context, r *http.Request, accessKeyID, name string, params map[string]any, opErr error) error {
	b, err := a.operatorEvent(r, accessKeyID, name, params, opErr)
	if err != nil {
		return err
	}
	if err := a.commitOperatorEvent(ctx, b); err != nil {
		a.Log.Warn("operator action could not be audited", "action", name, "error", err)
		return fmt.Errorf("audit: %w", err)
	}
	return nil
}

// operatorAuditPatience is how long the event of an operator action that
// cannot wait for a leader (seal, unseal) keeps being offered to one.
const operatorAuditPatience = 30 * time.Second

// maxPendingOperatorEvents bounds the events being offered at once. Unseal
// needs no principal (a share is its own proof), so without a bound anyone
// could pile up a goroutine per request while the cluster has no leader.
const maxPendingOperatorEvents = 256

// auditAsync records an operator action that must not wait for (or
// depend on) a leader: unseal and seal. While an attempt provably did not
// reach the Raft log it is made again, to whichever node leads by then:
// sealing the leader hands its leadership off, and the seal's own event
// must go to the next leader rather than be lost. An attempt whose fate
// is open is not repeated, so no event is logged twice. At most
// maxPendingOperatorEvents wait at once; past that an event is dropped and
// the drop logged.
func (a *API) auditAsync(r *http.Request, accessKeyID, name string, params map[string]any, opErr error) {
	b, err := a.operatorEvent(r, accessKeyID, name, params, opErr)
	if err != nil {
		a.Log.Warn("operator action could not be audited", "action", name, "error", err)
		return
	}
	a.offerEvent(name, b)
}

// offerEvent commits an event in the background (auditAsync).
func (a *API) offerEvent(name string, b []byte) {
	select {
	case a.asyncAudits <- struct{}{}:
	default:
		a.Log.Warn("operator action could not be audited: too many operator events are waiting for a leader", "action", name, "waiting", cap(a.asyncAudits))
		return
	}
	go func() {
		defer func() { <-a.asyncAudits }()
		deadline := time.Now().Add(operatorAuditPatience)
		for {
			err := a.commitOperatorEvent(context.Background(), b)
			if err == nil {
				return
			}
			if !cluster.NotAppended(err) || time.Now().After(deadline) {
				a.Log.Warn("operator action could not be audited", "action", name, "error", err)
				return
			}
			select {
			case <-a.stop:
				return
			case <-time.After(100 * time.Millisecond):
			}
		}
	}()
}

// operatorEvent is the audit event of an operator action, signed for by
// accessKeyID when there is one.
func (a *API) operatorEvent(r *http.Request, accessKeyID, name string, params map[string]any, opErr error) ([]byte, error) {
	ev := a.Events.Base(r, name, "KeyraftOperatorCall", uuid.NewString(), uuid.NewString())
	ev.EventSource = "keyraft.operator"
	ev.RequestParameters = params
	if params == nil {
		ev.RequestParameters = map[string]any{}
	}
	if accessKeyID != "" {
		ev.UserIdentity = a.Events.Identity(accessKeyID)
	}
	ev.ResponseElements = map[string]any{"nodeId": a.NodeID}
	var refused *operatorRefusal
	switch {
	case errors.As(opErr, &refused):
		ev.ErrorCode, ev.ErrorMessage = "AccessDenied", refused.msg
	case opErr != nil:
		ev.ErrorCode, ev.ErrorMessage = "OperatorError", opErr.Error()
	}
	return json.Marshal(ev)
}

// commitOperatorEvent commits one operator event: through the batcher on
// the leader, and sent to the leader from anywhere else.
func (a *API) commitOperatorEvent(ctx context.Context, b []byte) error {
	ctx, cancel := context.WithTimeout(ctx, gateway.AuditCommitTimeout)
	defer cancel()
	if a.Node.IsLeader() {
		return a.Batcher.Commit(ctx, "", b)
	}
	return a.Node.ForwardAudit(ctx, b)
}

// UnsealFromPeer applies one share that a peer's `unseal -all` sent to
// this node only: the cluster listener's Unseal call.
func (a *API) UnsealFromPeer(in *clusterpb.UnsealRequest) *clusterpb.UnsealResponse {
	st, err := a.Unseal(in.Share, in.Reset_)
	clear(in.Share) // the barrier keeps a copy of its own
	a.auditAsync(nil, "", "OperatorUnseal", map[string]any{"reset": in.Reset_, "progress": st.Progress, "sealed": st.Sealed, "viaPeer": true}, err)
	out := &clusterpb.UnsealResponse{
		Sealed: st.Sealed, Progress: uint32(st.Progress), Threshold: uint32(st.Threshold), NodeId: a.NodeID,
	}
	if err != nil {
		out.Error = err.Error()
	}
	return out
}

// CommitPeerEvent commits a follower's operator event, if this node leads:
// the cluster listener's Audit call, the other end of commitOperatorEvent.
func (a *API) CommitPeerEvent(ctx context.Context, in *clusterpb.AuditRequest) *clusterpb.AuditResponse {
	if !a.Node.IsLeader() {
		return &clusterpb.AuditResponse{Error: cluster.ErrNotLeader.Error()}
	}
	if !json.Valid(in.Event) {
		return &clusterpb.AuditResponse{Error: "audit event is not JSON"}
	}
	ctx, cancel := context.WithTimeout(ctx, gateway.AuditCommitTimeout)
	defer cancel()
	if err := a.Batcher.Commit(ctx, "", in.Event); err != nil {
		return &clusterpb.AuditResponse{Error: err.Error()}
	}
	return &clusterpb.AuditResponse{}
}
