package operator

import (
	"context"
	cryptorand "crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/keyraft/keyraft/cluster"
	"github.com/keyraft/keyraft/fsm"
	"github.com/keyraft/keyraft/fsm/fsmpb"
	"github.com/keyraft/keyraft/gateway"
	"github.com/keyraft/keyraft/seal"
)

// Rekey, as Vault's `operator rekey`: a signed request starts it (new
// shares and threshold, a nonce); holders of the current shares submit
// them, signed, with the nonce; at the current threshold the leader
// rebuilds the root key, checks it against the sealed keyring, makes a new
// root key, splits it, and seals the keyring under it. Without
// verification that commits at once; with it, the keyring sealed under the
// new root key is replicated as pending and the switch waits for a
// threshold of the NEW shares. The configuration is replicated (fsm
// RekeyConfig); the shares given stay in the leader's memory (API.rekeyShares,
// API.verifyShares), so after a leader change holders submit theirs again.

// RekeyStatus is the answer of GET /v1/sys/rekey/init: the rekey in
// progress as replicated, and the shares this leader has gathered for it.
type RekeyStatus struct {
	Started              bool   `json:"started"`
	Nonce                string `json:"nonce"`
	StartedAt            string `json:"started_at,omitempty"`
	NewShares            int    `json:"new_shares"`
	NewThreshold         int    `json:"new_threshold"`
	Required             int    `json:"required"`
	Progress             int    `json:"progress"`
	VerificationRequired bool   `json:"verification_required"`
	VerificationNonce    string `json:"verification_nonce,omitempty"`
	VerificationProgress int    `json:"verification_progress"`
	Complete             bool   `json:"complete,omitempty"`
}

func (a *API) rekeyStatus() RekeyStatus {
	in, _ := a.State.Init()
	rk, ok := a.State.Rekey()
	if !ok {
		return RekeyStatus{Required: in.Threshold}
	}
	st := RekeyStatus{
		Started: true, Nonce: rk.Nonce, NewShares: rk.Shares, NewThreshold: rk.Threshold,
		Required: in.Threshold, Progress: a.rekeyShares.Progress(rk.Nonce),
		VerificationRequired: rk.Verify, VerificationNonce: rk.VerificationNonce,
		VerificationProgress: a.verifyShares.Progress(rk.VerificationNonce),
	}
	if !rk.Started.IsZero() {
		st.StartedAt = rk.Started.Format(time.RFC3339)
	}
	if rk.VerificationNonce != "" {
		st.Progress = in.Threshold // the current shares are done with
	}
	return st
}

// DropRekeyShares zeroes every rekey share this node holds: on seal, on
// losing leadership, on cancel.
func (a *API) DropRekeyShares() {
	a.rekeyShares.Reset()
	a.verifyShares.Reset()
}

type rekeyInitRequest struct {
	SecretShares        int  `json:"secret_shares"`
	SecretThreshold     int  `json:"secret_threshold"`
	RequireVerification bool `json:"require_verification"`
}

// rekeyAuthorized checks the signature and ActionRekey for a rekey call and
// answers a refusal itself (audited once the caller is known).
func (a *API) rekeyAuthorized(w http.ResponseWriter, r *http.Request, from gateway.Origin, body []byte, name string) (string, bool) {
	akid, refused := a.checkOperator(r, from, body, ActionRekey, a.clusterARN())
	if a.unauthenticated(r, akid, refused) {
		writeErr(w, refused.status, refused.msg)
		return "", false
	}
	if refused != nil {
		_ = a.recordOperatorEvent(r.Context(), r, akid, name, nil, refused)
		writeErr(w, refused.status, refused.msg)
		return "", false
	}
	return akid, true
}

// errRestoreRunningNow refuses a rekey or rotate step while a snapshot
// restore runs; the message tells the caller to retry.
var errRestoreRunningNow = errors.New("a snapshot restore is running; retry when it has finished")

// proposeOperator commits a command carrying the event of the operator
// call that asked for it: the change and its event are one entry.
//
// Every such command changes the seal configuration (rekey, rotate), which
// a snapshot restore checks before it hands the file to raft: the two
// exclude each other, so nothing changes between that check and the restore.
func (a *API) proposeOperator(ctx context.Context, r *http.Request, akid, name string, params map[string]any, t fsm.CommandType, payload proto.Message) error {
	if !a.restoring.TryLock() {
		return errRestoreRunningNow
	}
	defer a.restoring.Unlock()
	event, err := a.operatorEvent(r, akid, name, params, nil)
	if err != nil {
		return err
	}
	cmd, err := fsm.NewAuditedCommand(t, payload, a.Now(), event)
	if err != nil {
		return err
	}
	_, err = a.Node.Apply(ctx, cmd)
	return err
}

func (a *API) handleRekeyInit(w http.ResponseWriter, r *http.Request, from gateway.Origin, body []byte) {
	akid, ok := a.rekeyAuthorized(w, r, from, body, "OperatorRekeyInit")
	if !ok {
		return
	}
	var req rekeyInitRequest
	if err := json.Unmarshal(body, &req); err != nil {
		writeErr(w, http.StatusBadRequest, `rekey: the body must be {"secret_shares": N, "secret_threshold": T, "require_verification": bool}`)
		return
	}
	n, t := req.SecretShares, req.SecretThreshold
	params := map[string]any{"secretShares": n, "secretThreshold": t, "requireVerification": req.RequireVerification}
	if t < 1 || n < t || n > 255 || (n >= 2 && t < 2) {
		err := errors.New("rekey: key shares and threshold must satisfy 1 <= threshold <= shares <= 255, and threshold >= 2 when shares >= 2")
		_ = a.recordOperatorEvent(r.Context(), r, akid, "OperatorRekeyInit", params, err)
		writeErr(w, http.StatusBadRequest, err.Error())
		return
	}
	err := a.proposeOperator(r.Context(), r, akid, "OperatorRekeyInit", params, fsm.CmdRekeyStart, &fsmpb.RekeyConfig{
		Nonce: cryptorand.Text(), Shares: uint32(n), Threshold: uint32(t), Verify: req.RequireVerification,
		Started: a.Now().UnixNano(),
	})
	if a.writeRekeyErr(w, err) {
		return
	}
	a.DropRekeyShares()
	a.Log.Info("rekey started", "new_shares", n, "new_threshold", t, "verify", req.RequireVerification)
	writeJSON(w, http.StatusOK, a.rekeyStatus())
}

func (a *API) handleRekeyCancel(w http.ResponseWriter, r *http.Request, from gateway.Origin, body []byte) {
	akid, ok := a.rekeyAuthorized(w, r, from, body, "OperatorRekeyCancel")
	if !ok {
		return
	}
	rk, running := a.State.Rekey()
	if !running {
		writeErr(w, http.StatusBadRequest, "rekey: no rekey is in progress")
		return
	}
	err := a.proposeOperator(r.Context(), r, akid, "OperatorRekeyCancel", map[string]any{"nonce": rk.Nonce}, fsm.CmdRekeyCancel, &fsmpb.RekeyCancel{Nonce: rk.Nonce})
	if a.writeRekeyErr(w, err) {
		return
	}
	a.DropRekeyShares()
	a.Log.Info("rekey cancelled")
	writeJSON(w, http.StatusOK, a.rekeyStatus())
}

// writeRekeyErr answers a failed rekey proposal; false when err is nil.
func (a *API) writeRekeyErr(w http.ResponseWriter, err error) bool {
	switch {
	case err == nil:
		return false
	case errors.Is(err, fsm.ErrRekeyInProgress):
		writeErr(w, http.StatusBadRequest, "rekey: a rekey is already in progress; finish or cancel it first")
	case errors.Is(err, fsm.ErrNoRekey):
		writeErr(w, http.StatusBadRequest, "rekey: no rekey is in progress under this nonce (it finished or was cancelled)")
	case errors.Is(err, fsm.ErrKeyringChanged):
		writeErr(w, http.StatusConflict, "rekey: the keyring changed meanwhile (a rotation); submit the shares again")
	case errors.Is(err, fsm.ErrNotInitialized):
		writeErr(w, http.StatusBadRequest, ErrNotInitialized.Error())
	default:
		writeErr(w, http.StatusServiceUnavailable, "rekey: could not commit; retry: "+err.Error())
	}
	return true
}

// shareRequest is the body of rekey update and verify: a share (base64,
// decoded by encoding/json into bytes the handler zeroes) and the nonce
// of the ceremony it is for.
type shareRequest struct {
	Key   []byte `json:"key"`
	Nonce string `json:"nonce"`
}

// readShare decodes a share request, answering a bad one itself.
func (a *API) readShare(w http.ResponseWriter, r *http.Request, body []byte, what string) (*shareRequest, bool) {
	var req shareRequest
	if err := json.Unmarshal(body, &req); err != nil || len(req.Key) == 0 || req.Nonce == "" {
		clear(req.Key)
		a.unsealFailed(r)
		writeErr(w, http.StatusBadRequest, what+`: the body must be {"key": "<base64 share>", "nonce": "<nonce>"}`)
		return nil, false
	}
	return &req, true
}

// handleRekeyUpdate takes one current share towards the rekey.
func (a *API) handleRekeyUpdate(w http.ResponseWriter, r *http.Request, from gateway.Origin, body []byte) {
	if !a.admitUnseal(w, r) {
		return
	}
	akid, ok := a.rekeyAuthorized(w, r, from, body, "OperatorRekeyUpdate")
	if !ok {
		return
	}
	req, ok := a.readShare(w, r, body, "rekey")
	if !ok {
		return
	}
	defer clear(req.Key)
	in, initialized := a.State.Init()
	rk, running := a.State.Rekey()
	switch {
	case !initialized:
		writeErr(w, http.StatusBadRequest, ErrNotInitialized.Error())
		return
	case !running || rk.Nonce != req.Nonce:
		writeErr(w, http.StatusBadRequest, "rekey: no rekey is in progress under this nonce; `keyraft operator rekey -status` shows the current one")
		return
	case rk.VerificationNonce != "":
		writeErr(w, http.StatusBadRequest, "rekey: the current shares already authorised this rekey; it waits for a threshold of the new shares (operator rekey -verify)")
		return
	}
	progress, root, err := a.rekeyShares.Add(rk.Nonce, in.Threshold, req.Key)
	params := map[string]any{"nonce": rk.Nonce}
	if err != nil {
		a.unsealFailed(r)
		writeErr(w, http.StatusBadRequest, "rekey: "+describeUnsealErr(err))
		return
	}
	if root == nil {
		params["progress"] = progress
		_ = a.recordOperatorEvent(r.Context(), r, akid, "OperatorRekeyUpdate", params, nil)
		writeJSON(w, http.StatusOK, a.rekeyStatus())
		return
	}
	res, err := a.rekeyWith(root, in, rk)
	clear(root)
	if errors.Is(err, seal.ErrWrongShares) {
		a.unsealFailed(r)
		_ = a.recordOperatorEvent(r.Context(), r, akid, "OperatorRekeyUpdate", params, err)
		a.Log.Warn("rekey attempt failed: wrong shares; progress reset")
		writeErr(w, http.StatusBadRequest, "rekey: the shares given do not reconstruct the root key; rekey progress was reset")
		return
	}
	if err != nil {
		writeErr(w, http.StatusServiceUnavailable, "rekey: "+err.Error())
		return
	}
	defer res.forget()
	name, t, payload := "OperatorRekeyCommit", fsm.CmdRekeyCommit, proto.Message(&fsmpb.RekeyCommit{Nonce: rk.Nonce, SealedKeyring: res.sealed, KeyringTerm: res.term})
	if rk.Verify {
		res.verificationNonce = cryptorand.Text()
		name, t, payload = "OperatorRekeyUpdate", fsm.CmdRekeyIssue, &fsmpb.RekeyIssue{Nonce: rk.Nonce, SealedKeyring: res.sealed, KeyringTerm: res.term, VerificationNonce: res.verificationNonce}
		params["verificationRequired"] = true
	}
	params["complete"] = true
	params["newShares"], params["newThreshold"] = rk.Shares, rk.Threshold
	err = a.proposeOperator(r.Context(), r, akid, name, params, t, payload)
	if err != nil && !rk.Verify && !fsm.Refused(err) && !cluster.NotAppended(err) {
		// The switch may still commit (leadership was lost after the entry
		// was appended): dropping the new shares now could leave a cluster
		// no one can unseal. Hand them out, saying the switch is unsure.
		a.Log.Warn("rekey commit's fate is unknown; the new shares were handed out", "error", err)
		res.unsure = true
		err = nil
	}
	if a.writeRekeyErr(w, err) {
		return
	}
	if rk.Verify {
		a.Log.Info("rekey authorised; the new shares must now verify it", "new_shares", rk.Shares, "new_threshold", rk.Threshold)
	} else {
		a.Log.Info("rekey complete: the keyring is sealed under a new root key", "shares", rk.Shares, "threshold", rk.Threshold)
	}
	b := rekeyAnswer(rk.Nonce, res)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
	clear(b)
}

// rekeyResult is a new root key's shares and the keyring sealed under it.
type rekeyResult struct {
	shares            [][]byte
	threshold         int
	sealed            []byte
	term              uint32
	verificationNonce string
	// unsure: the switch's commit may or may not have applied.
	unsure bool
}

func (r *rekeyResult) forget() {
	for _, s := range r.shares {
		clear(s)
	}
}

// rekeyWith checks root against the sealed keyring and seals the keyring
// (every term, upgrades included) under a fresh root key split as rk says.
// Neither root key leaves this function; the caller zeroes root.
func (a *API) rekeyWith(root []byte, in fsm.InitRecord, rk fsm.RekeyConfig) (*rekeyResult, error) {
	kr, err := seal.OpenKeyring(root, in.SealedKeyring)
	switch {
	case errors.Is(err, seal.ErrWrongRootKey):
		return nil, seal.ErrWrongShares
	case err != nil:
		return nil, err
	}
	defer kr.Zero()
	if err := kr.Upgrade(in.KeyringUpgrades); err != nil {
		return nil, err
	}
	newRoot, err := seal.GenerateRootKey(cryptorand.Reader)
	if err != nil {
		return nil, err
	}
	defer clear(newRoot)
	parts, err := seal.Split(newRoot, rk.Shares, rk.Threshold)
	if err != nil {
		return nil, err
	}
	sealed, err := seal.SealKeyring(newRoot, kr, cryptorand.Reader)
	if err != nil {
		for _, p := range parts {
			clear(p)
		}
		return nil, err
	}
	return &rekeyResult{shares: parts, threshold: rk.Threshold, sealed: sealed, term: kr.Term()}, nil
}

// rekeyAnswer is written by hand into one buffer (as initAnswer) so that
// the new shares can be zeroed once sent.
func rekeyAnswer(nonce string, res *rekeyResult) []byte {
	n := 512 + len(nonce) + len(res.verificationNonce)
	for _, p := range res.shares {
		n += base64.StdEncoding.EncodedLen(len(p)) + 3
	}
	b := make([]byte, 0, n)
	if res.unsure {
		b = append(b, `{"complete":false,"switch_unknown":true,"warning":"the switch to these shares may or may not have committed (leadership changed): `+
			`if operator status shows the new threshold, use them; otherwise discard them and submit the current shares again","nonce":"`...)
	} else {
		b = append(b, `{"complete":true,"nonce":"`...)
	}
	b = append(b, nonce...)
	b = append(b, `","keys_base64":[`...)
	for i, p := range res.shares {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '"')
		b = base64.StdEncoding.AppendEncode(b, p)
		b = append(b, '"')
	}
	b = append(b, `],"shares":`...)
	b = strconv.AppendInt(b, int64(len(res.shares)), 10)
	b = append(b, `,"threshold":`...)
	b = strconv.AppendInt(b, int64(res.threshold), 10)
	b = append(b, `,"verification_required":`...)
	b = strconv.AppendBool(b, res.verificationNonce != "")
	b = append(b, `,"verification_nonce":"`...)
	b = append(b, res.verificationNonce...)
	return append(b, "\"}\n"...)
}

// handleRekeyVerify takes one NEW share towards verifying a rekey; at the
// new threshold, once the shares open the pending keyring, the switch
// commits.
func (a *API) handleRekeyVerify(w http.ResponseWriter, r *http.Request, from gateway.Origin, body []byte) {
	if !a.admitUnseal(w, r) {
		return
	}
	akid, ok := a.rekeyAuthorized(w, r, from, body, "OperatorRekeyVerify")
	if !ok {
		return
	}
	req, ok := a.readShare(w, r, body, "rekey verify")
	if !ok {
		return
	}
	defer clear(req.Key)
	rk, running := a.State.Rekey()
	if !running || rk.VerificationNonce == "" || rk.VerificationNonce != req.Nonce {
		writeErr(w, http.StatusBadRequest, "rekey verify: no rekey waits for verification under this nonce; `keyraft operator rekey -status` shows the current one")
		return
	}
	progress, root, err := a.verifyShares.Add(rk.VerificationNonce, rk.Threshold, req.Key)
	params := map[string]any{"nonce": rk.Nonce}
	if err != nil {
		a.unsealFailed(r)
		writeErr(w, http.StatusBadRequest, "rekey verify: "+describeUnsealErr(err))
		return
	}
	if root == nil {
		params["progress"] = progress
		_ = a.recordOperatorEvent(r.Context(), r, akid, "OperatorRekeyVerify", params, nil)
		writeJSON(w, http.StatusOK, a.rekeyStatus())
		return
	}
	kr, err := seal.OpenKeyring(root, rk.PendingSealedKeyring)
	clear(root)
	if err != nil {
		a.unsealFailed(r)
		werr := fmt.Errorf("rekey verify: the new shares given do not reconstruct the new root key; verification progress was reset")
		_ = a.recordOperatorEvent(r.Context(), r, akid, "OperatorRekeyVerify", params, werr)
		writeErr(w, http.StatusBadRequest, werr.Error())
		return
	}
	kr.Zero()
	params["complete"] = true
	err = a.proposeOperator(r.Context(), r, akid, "OperatorRekeyCommit", params, fsm.CmdRekeyCommit, &fsmpb.RekeyCommit{Nonce: rk.Nonce})
	if a.writeRekeyErr(w, err) {
		return
	}
	a.DropRekeyShares()
	a.Log.Info("rekey verified and complete: the keyring is sealed under a new root key", "shares", rk.Shares, "threshold", rk.Threshold)
	writeJSON(w, http.StatusOK, map[string]any{"complete": true, "nonce": rk.Nonce})
}
