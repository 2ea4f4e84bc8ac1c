package operator

import (
	"net/http"

	"github.com/keyraft/keyraft/cluster"
	"github.com/keyraft/keyraft/gateway"
	"github.com/keyraft/keyraft/internal/version"
)

// PublicStatus is what GET /v1/sys/seal-status answers anyone who reaches
// the API: what a load balancer or an operator at the console needs to
// route traffic or unseal, and the alarms that say why a node refuses
// writes or holds its housekeeping (which a sealed node, unable to check a
// signature, could otherwise show no one; their messages name no path).
// The rest (Status: Raft state and index, leader) is for principals
// allowed ActionReadStatus.
type PublicStatus struct {
	Initialized bool            `json:"initialized"`
	Sealed      bool            `json:"sealed"`
	Progress    int             `json:"progress"`
	Threshold   int             `json:"threshold"`
	Version     string          `json:"version"`
	Alarms      []cluster.Alarm `json:"alarms,omitempty"`
	// Insecure is announced to anyone: a server run with -insecure trusts
	// whoever reaches its cluster ports.
	Insecure bool `json:"insecure,omitempty"`
	// Ready: this node serves KMS requests now (API.Ready). Why not is
	// for principals (Status.NotReady).
	Ready bool `json:"ready"`
}

// PublicStatus reports this node's seal state.
func (a *API) PublicStatus() PublicStatus {
	in, initialized := a.State.Init()
	st := a.Barrier.Status(in.Threshold)
	ready, _ := a.Ready()
	return PublicStatus{Ready: ready, Initialized: initialized, Sealed: st.Sealed, Progress: st.Progress, Threshold: in.Threshold, Version: version.String(),
		Alarms: a.Alarms(), Insecure: a.Insecure}
}

// serveStatus answers GET /v1/sys/status, the whole Status, to a principal
// allowed ActionReadStatus. A sealed node cannot check a signature (the
// secrets are sealed) and answers 503: its public status says why.
func (a *API) serveStatus(w http.ResponseWriter, r *http.Request, from gateway.Origin) {
	if !a.authorizeOperator(w, r, from, ActionReadStatus, a.nodeARN(a.NodeID)) {
		return
	}
	writeJSON(w, http.StatusOK, a.Status())
}

// servePeers answers GET /v1/sys/raft/peers to a principal allowed
// ActionListPeers.
func (a *API) servePeers(w http.ResponseWriter, r *http.Request, from gateway.Origin) {
	if !a.authorizeOperator(w, r, from, ActionListPeers, a.clusterARN()) {
		return
	}
	peers, err := a.Node.Peers()
	if err != nil {
		writeErr(w, http.StatusServiceUnavailable, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"peers": peers})
}
