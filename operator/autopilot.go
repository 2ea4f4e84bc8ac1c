package operator

import (
	"context"
	"errors"
	"net/http"

	"github.com/keyraft/keyraft/cluster"
	"github.com/keyraft/keyraft/gateway"
)

// serveAutopilotState answers the leader's autopilot state (a follower
// forwards the signed request to the leader, which checks it: only the
// leader runs autopilot).
func (a *API) serveAutopilotState(w http.ResponseWriter, r *http.Request, from gateway.Origin, body []byte) {
	if akid, refused := a.checkOperator(r, from, body, ActionReadAutopilotState, a.clusterARN()); refused != nil {
		a.unauthenticated(r, akid, refused)
		writeErr(w, refused.status, refused.msg)
		return
	}
	st, err := a.Node.AutopilotState()
	switch {
	case errors.Is(err, cluster.ErrNotLeader):
		writeErr(w, http.StatusServiceUnavailable, "leadership moved; retry")
	case err != nil:
		writeErr(w, http.StatusServiceUnavailable, err.Error())
	default:
		writeJSON(w, http.StatusOK, st)
	}
}

// serveAutopilotConfiguration answers the settings the leader's autopilot
// runs with.
func (a *API) serveAutopilotConfiguration(w http.ResponseWriter, r *http.Request, from gateway.Origin, body []byte) {
	if akid, refused := a.checkOperator(r, from, body, ActionReadAutopilotState, a.clusterARN()); refused != nil {
		a.unauthenticated(r, akid, refused)
		writeErr(w, refused.status, refused.msg)
		return
	}
	writeJSON(w, http.StatusOK, a.Node.AutopilotConfiguration())
}

// AutopilotRemoved audits a removal autopilot made on this leader, as an
// operator's remove-peer is audited (OperatorRemovePeer), with no
// principal and the reason among its parameters.
func (a *API) AutopilotRemoved(nodeID, reason string, err error) {
	params := map[string]any{"removedNodeId": nodeID, "removedBy": "autopilot", "reason": reason}
	_ = a.recordOperatorEvent(context.Background(), nil, "", "OperatorRemovePeer", params, err)
}
