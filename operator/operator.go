package operator

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/keyraft/keyraft/cluster"
	"github.com/keyraft/keyraft/gateway"
	"github.com/keyraft/keyraft/seal"
)

// Serve answers a request of the operator API, under /v1/sys/, which came
// as from says. Answers are JSON; failures are {"errors": ["..."]} with a
// 4xx/5xx status, as Vault's API does.
func (a *API) Serve(w http.ResponseWriter, r *http.Request, from gateway.Origin) {
	switch r.Method + " " + r.URL.Path {
	case "GET /v1/sys/seal-status":
		writeJSON(w, http.StatusOK, a.PublicStatus())
	case "GET /v1/sys/health", "HEAD /v1/sys/health":
		a.serveHealth(w, r)
	case "GET /v1/sys/status":
		a.serveStatus(w, r, from)
	case "POST /v1/sys/init":
		a.onLeader(w, r, from, a.handleInit)
	case "POST /v1/sys/unseal":
		a.handleUnseal(w, r)
	case "POST /v1/sys/seal":
		a.handleSeal(w, r, from)
	case "GET /v1/sys/raft/peers":
		a.servePeers(w, r, from)
	case "GET /v1/sys/audit/events":
		a.serveAuditEvents(w, r, from)
	case "GET /v1/sys/audit/verify":
		a.serveAuditVerify(w, r, from)
	case "GET /v1/sys/raft/snapshot":
		a.serveSnapshotSave(w, r, from)
	case "POST /v1/sys/raft/snapshot":
		a.serveSnapshotRestore(w, r, from)
	case "GET /v1/sys/storage/raft/autopilot/state":
		a.onLeader(w, r, from, a.serveAutopilotState)
	case "GET /v1/sys/storage/raft/autopilot/configuration":
		a.onLeader(w, r, from, a.serveAutopilotConfiguration)
	case "GET /v1/sys/rekey/init", "GET /v1/sys/rekey/verify":
		a.onLeader(w, r, from, func(w http.ResponseWriter, _ *http.Request, _ gateway.Origin, _ []byte) {
			writeJSON(w, http.StatusOK, a.rekeyStatus())
		})
	case "POST /v1/sys/rekey/init":
		a.onLeader(w, r, from, a.handleRekeyInit)
	case "DELETE /v1/sys/rekey/init":
		a.onLeader(w, r, from, a.handleRekeyCancel)
	case "POST /v1/sys/rekey/update":
		a.onLeaderSecret(w, r, from, a.handleRekeyUpdate)
	case "POST /v1/sys/rekey/verify":
		a.onLeaderSecret(w, r, from, a.handleRekeyVerify)
	case "POST /v1/sys/rotate":
		a.onLeader(w, r, from, a.handleRotate)
	case "POST /v1/sys/raft/remove-peer":
		a.onLeader(w, r, from, a.handleRemovePeer)
	default:
		writeErr(w, http.StatusNotFound, "no such operator endpoint: "+r.Method+" "+r.URL.Path)
	}
}

// onLeader runs h here when this node leads, and otherwise forwards the
// request to the leader.
func (a *API) onLeader(w http.ResponseWriter, r *http.Request, from gateway.Origin, h func(http.ResponseWriter, *http.Request, gateway.Origin, []byte)) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<16))
	if err != nil {
		writeErr(w, http.StatusBadRequest, "could not read the request body")
		return
	}
	a.leaderRuns(w, r, from, body, h)
}

// onLeaderSecret is onLeader for a body that carries a share: it is read
// into a buffer that is zeroed once the call is answered.
func (a *API) onLeaderSecret(w http.ResponseWriter, r *http.Request, from gateway.Origin, h func(http.ResponseWriter, *http.Request, gateway.Origin, []byte)) {
	body, err := readZeroable(r.Body, 1<<16)
	defer clear(body)
	if err != nil {
		writeErr(w, http.StatusBadRequest, "could not read the request body")
		return
	}
	a.leaderRuns(w, r, from, body, h)
}

// leaderRuns runs h with the body read here when this node leads, and
// otherwise forwards the request and its body to the leader.
func (a *API) leaderRuns(w http.ResponseWriter, r *http.Request, from gateway.Origin, body []byte, h func(http.ResponseWriter, *http.Request, gateway.Origin, []byte)) {
	if !a.Node.IsLeader() {
		served, err := gateway.Forward(a.Node, w, r, from, body)
		switch {
		case errors.Is(err, gateway.ErrLeadershipMoved):
			writeErr(w, http.StatusServiceUnavailable, "leadership moved while forwarding; retry")
			return
		case err != nil:
			writeErr(w, http.StatusServiceUnavailable, "no leader is available yet; retry: "+err.Error())
			return
		case served:
			return
		}
	}
	h(w, r, from, body)
}

type initRequest struct {
	SecretShares    int `json:"secret_shares"`
	SecretThreshold int `json:"secret_threshold"`
}

func (a *API) handleInit(w http.ResponseWriter, r *http.Request, _ gateway.Origin, body []byte) {
	var req initRequest
	if err := json.Unmarshal(body, &req); err != nil {
		writeErr(w, http.StatusBadRequest, "init: the body must be {\"secret_shares\": N, \"secret_threshold\": T}")
		return
	}
	res, err := a.Initialize(r.Context(), r, req.SecretShares, req.SecretThreshold)
	if err != nil {
		// Init needs no principal, so a refused one is anybody's: it is
		// counted with the failed signatures and summarised once a minute
		// (authfail.go), never appended one by one, or a flood of them
		// would fill the replicated log and trim real evidence. A
		// successful init carried its own event.
		a.AuthFailures.Count("OperatorInit", gateway.SourceIP(r), "")
	}
	switch {
	case errors.Is(err, ErrAlreadyInitialized):
		writeErr(w, http.StatusBadRequest, err.Error())
		return
	case errors.Is(err, ErrRestoreRunning):
		writeErr(w, http.StatusConflict, err.Error())
		return
	case errors.Is(err, seal.ErrBadParameters):
		writeErr(w, http.StatusBadRequest, "init: key shares and threshold must satisfy 1 <= threshold <= shares <= 255, and threshold >= 2 when shares >= 2")
		return
	case err != nil:
		writeErr(w, http.StatusServiceUnavailable, "init failed; retry once a leader is elected: "+err.Error())
		return
	}
	b := initAnswer(res)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
	clear(b)
	res.Forget()
}

// initAnswer is init's answer, {"unseal_keys_b64": [...], "unseal_shares",
// "unseal_threshold", "access_key_id", "secret_access_key"}, written by hand into one
// buffer of the right size: encoding/json would leave the shares and the
// secret in its pooled buffers, and Go strings cannot be zeroed. The
// caller zeroes it once written. Access key ids, secrets and base64 need no
// JSON escaping.
func initAnswer(res *InitResult) []byte {
	n := 128 + len(res.AccessKeyID) + len(res.SecretAccessKey)
	for _, p := range res.Shares {
		n += base64.StdEncoding.EncodedLen(len(p)) + 3
	}
	b := make([]byte, 0, n)
	b = append(b, `{"unseal_keys_b64":[`...)
	for i, p := range res.Shares {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '"')
		b = base64.StdEncoding.AppendEncode(b, p)
		b = append(b, '"')
	}
	b = append(b, `],"unseal_shares":`...)
	b = strconv.AppendInt(b, int64(len(res.Shares)), 10)
	b = append(b, `,"unseal_threshold":`...)
	b = strconv.AppendInt(b, int64(res.Threshold), 10)
	b = append(b, `,"access_key_id":"`...)
	b = append(b, res.AccessKeyID...)
	b = append(b, `","secret_access_key":"`...)
	b = append(b, res.SecretAccessKey...)
	return append(b, "\"}\n"...)
}

// unsealRequest is the body of an unseal call. Key is decoded from base64
// by encoding/json straight into bytes this handler zeroes.
type unsealRequest struct {
	Key   []byte `json:"key"`
	Reset bool   `json:"reset"`
	All   bool   `json:"all"`
}

// UnsealAnswer is one node's answer to an unseal call.
type UnsealAnswer struct {
	NodeID    string `json:"node_id"`
	Sealed    bool   `json:"sealed"`
	Progress  int    `json:"progress"`
	Threshold int    `json:"threshold"`
	Error     string `json:"error,omitempty"`
}

func (a *API) handleUnseal(w http.ResponseWriter, r *http.Request) {
	if !a.admitUnseal(w, r) {
		return
	}
	body, err := readZeroable(r.Body, 1<<16)
	defer clear(body)
	if err != nil {
		a.unsealFailed(r)
		writeErr(w, http.StatusBadRequest, "could not read the request body")
		return
	}
	var req unsealRequest
	err = json.Unmarshal(body, &req)
	defer clear(req.Key)
	var badBase64 base64.CorruptInputError
	switch {
	case errors.As(err, &badBase64):
		a.unsealFailed(r)
		writeErr(w, http.StatusBadRequest, "unseal: the share is not valid base64")
		return
	case err != nil:
		a.unsealFailed(r)
		writeErr(w, http.StatusBadRequest, "unseal: the body must be {\"key\": \"<base64 share>\"} or {\"reset\": true}")
		return
	}
	var share []byte
	if !req.Reset {
		if share = req.Key; len(share) == 0 {
			a.unsealFailed(r)
			writeErr(w, http.StatusBadRequest, "unseal: the share is not valid base64")
			return
		}
	}
	if req.All && a.Insecure {
		// Refused before this node takes the share either: the operator
		// meant every node, and none of them can be told from an impostor.
		writeErr(w, http.StatusBadRequest, cluster.ErrInsecureUnseal.Error())
		return
	}
	wasSealed := a.Barrier.Status(0).Sealed
	st, err := a.Unseal(share, req.Reset)
	switch {
	case isShareFailure(err):
		a.unsealFailed(r)
	case err == nil && wasSealed && !st.Sealed:
		// The unseal that opened the node: the one that changed what the
		// cluster can do. Anyone may post a share, so everything else (a
		// share that only adds progress, a reset, a share posted to an
		// unsealed node) is counted and summarised, not an event each:
		// a flood of them from many addresses would fill the replicated
		// log and trim real evidence.
		a.auditAsync(r, "", "OperatorUnseal", map[string]any{"reset": req.Reset, "all": req.All, "progress": st.Progress, "sealed": st.Sealed}, nil)
	default:
		kind := "OperatorUnsealNoChange"
		switch {
		case err != nil:
			kind = "OperatorUnsealRefused"
		case req.Reset:
			kind = "OperatorUnsealReset"
		case st.Sealed:
			kind = "OperatorUnsealProgress"
		}
		a.AuthFailures.Count(kind, gateway.SourceIP(r), "")
	}
	local := UnsealAnswer{NodeID: a.NodeID, Sealed: st.Sealed, Progress: st.Progress, Threshold: st.Threshold}
	if err != nil {
		local.Error = describeUnsealErr(err)
	}
	if !req.All {
		if err != nil {
			status := http.StatusBadRequest
			if errors.Is(err, ErrNotInitialized) {
				status = http.StatusServiceUnavailable
			}
			writeJSON(w, status, map[string]any{"errors": []string{local.Error}, "node_id": local.NodeID,
				"sealed": local.Sealed, "progress": local.Progress, "threshold": local.Threshold})
			return
		}
		writeJSON(w, http.StatusOK, local)
		return
	}
	answers := []UnsealAnswer{local}
	peers, err := a.Node.UnsealPeers(r.Context(), share)
	if err != nil {
		writeErr(w, http.StatusBadRequest, err.Error())
		return
	}
	for id, p := range peers {
		answers = append(answers, UnsealAnswer{NodeID: id, Sealed: p.Sealed, Progress: int(p.Progress), Threshold: int(p.Threshold), Error: p.Error})
	}
	writeJSON(w, http.StatusOK, map[string]any{"nodes": answers})
}

type removePeerRequest struct {
	NodeID string `json:"node_id"`
}

// handleSeal seals this node for a principal allowed ActionSeal. Sealing a
// sealed node changes nothing, so it needs no signature (none could be
// checked) and is not an event.
func (a *API) handleSeal(w http.ResponseWriter, r *http.Request, from gateway.Origin) {
	if _, err := a.Barrier.Keyring(); err != nil {
		writeJSON(w, http.StatusOK, a.PublicStatus())
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<16))
	if err != nil {
		writeErr(w, http.StatusBadRequest, "could not read the request body")
		return
	}
	akid, refused := a.checkOperator(r, from, body, ActionSeal, a.nodeARN(a.NodeID))
	if a.unauthenticated(r, akid, refused) {
		writeErr(w, refused.status, refused.msg)
		return
	}
	if refused != nil {
		a.auditAsync(r, akid, "OperatorSeal", nil, refused)
		writeErr(w, refused.status, refused.msg)
		return
	}
	a.Seal()
	a.ScrubAfter(w, r)
	a.auditAsync(r, akid, "OperatorSeal", nil, nil)
	writeJSON(w, http.StatusOK, a.Status())
}

// handleRemovePeer runs on the leader, which checks the signature: it
// holds the configuration the call changes.
func (a *API) handleRemovePeer(w http.ResponseWriter, r *http.Request, from gateway.Origin, body []byte) {
	var req removePeerRequest
	if err := json.Unmarshal(body, &req); err != nil || req.NodeID == "" {
		writeErr(w, http.StatusBadRequest, "remove-peer: the body must be {\"node_id\": \"ID\"}")
		return
	}
	params := map[string]any{"removedNodeId": req.NodeID}
	akid, refused := a.checkOperator(r, from, body, ActionRemovePeer, a.nodeARN(req.NodeID))
	if a.unauthenticated(r, akid, refused) {
		writeErr(w, refused.status, refused.msg)
		return
	}
	if refused != nil {
		_ = a.recordOperatorEvent(r.Context(), r, akid, "OperatorRemovePeer", params, refused)
		writeErr(w, refused.status, refused.msg)
		return
	}
	if req.NodeID == a.NodeID {
		if !a.hasOtherVoter() {
			err := errors.New("remove-peer: " + req.NodeID + " is the only voter; removing it would leave no cluster")
			_ = a.recordOperatorEvent(r.Context(), r, akid, "OperatorRemovePeer", params, err)
			writeErr(w, http.StatusBadRequest, err.Error())
			return
		}
		a.removeSelf(w, r, from, body)
		return
	}
	err := a.Node.RemovePeer(r.Context(), req.NodeID)
	_ = a.recordOperatorEvent(r.Context(), r, akid, "OperatorRemovePeer", params, err)
	switch {
	case errors.Is(err, cluster.ErrUnknownPeer):
		writeErr(w, http.StatusNotFound, "remove-peer: "+req.NodeID+" is not in the raft configuration")
	case err != nil:
		writeErr(w, http.StatusServiceUnavailable, "remove-peer failed; retry: "+err.Error())
	default:
		a.Log.Info("removed peer", "node_id", req.NodeID)
		writeJSON(w, http.StatusOK, map[string]any{"removed": req.NodeID})
	}
}

// removeSelf answers a request to remove this leader. A leader that
// removed itself would step down as the change committed, and could then
// record no event for it (no other server would take it from a removed
// one). So it hands leadership off and has the next leader, of which it
// is a follower, remove it. That is a second hop for a forwarded request,
// and safe: the next leader is another server and removes it there.
func (a *API) removeSelf(w http.ResponseWriter, r *http.Request, from gateway.Origin, body []byte) {
	if err := a.Node.HandOff(5 * time.Second); err != nil {
		writeErr(w, http.StatusServiceUnavailable, "remove-peer: this server leads and could not hand leadership off before its removal; retry: "+err.Error())
		return
	}
	resp, err := a.Node.Forward(r.Context(), gateway.ForwardRequest(r, from, body))
	if err != nil {
		writeErr(w, http.StatusServiceUnavailable, "remove-peer: leadership moved to another server, which could not be asked; retry: "+err.Error())
		return
	}
	gateway.WriteForwarded(w, resp)
}

// hasOtherVoter reports whether a voter other than this server is in the
// Raft configuration (or the configuration could not be read: the hand-off
// then says why).
func (a *API) hasOtherVoter() bool {
	peers, err := a.Node.Peers()
	if err != nil {
		return true
	}
	for _, p := range peers {
		if p.Voter && p.ID != a.NodeID {
			return true
		}
	}
	return false
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeErr(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]any{"errors": []string{msg}})
}

// readZeroable reads at most limit bytes of r into one buffer, growing it
// by copying and zeroing the old one, so that a caller that zeroes the
// result leaves no copy of a secret body behind (io.ReadAll would leave
// every buffer it outgrew).
func readZeroable(r io.Reader, limit int) ([]byte, error) {
	r = io.LimitReader(r, int64(limit))
	b := make([]byte, 0, min(512, limit+1))
	for {
		if len(b) == cap(b) {
			nb := make([]byte, len(b), 2*cap(b))
			copy(nb, b)
			clear(b)
			b = nb
		}
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return b, err
		}
	}
}
