package operator

import (
	"net/http"
	"strconv"
	"time"

	"github.com/keyraft/keyraft/audit"
	"github.com/keyraft/keyraft/gateway"
)

// serveAuditEvents streams the committed audit log as JSON lines:
// GET /v1/sys/audit/events?after=SEQ&last=N&limit=N&since=RFC3339&until=RFC3339&key_id=ID&event_name=OP
// Every node serves its own copy of the same committed log.
func (a *API) serveAuditEvents(w http.ResponseWriter, r *http.Request, from gateway.Origin) {
	if !a.authorizeOperator(w, r, from, ActionReadAuditLog, a.clusterARN()) {
		return
	}
	q := r.URL.Query()
	var f audit.Filter
	var err error
	if v := q.Get("after"); v != "" {
		if f.After, err = strconv.ParseUint(v, 10, 64); err != nil {
			writeErr(w, http.StatusBadRequest, "after: not a sequence number")
			return
		}
	}
	for name, dst := range map[string]*time.Time{"since": &f.Since, "until": &f.Until} {
		if v := q.Get(name); v != "" {
			if *dst, err = time.Parse(time.RFC3339, v); err != nil {
				writeErr(w, http.StatusBadRequest, name+": want an RFC 3339 time such as 2026-01-02T15:04:05Z")
				return
			}
		}
	}
	f.KeyID, f.EventName = q.Get("key_id"), q.Get("event_name")
	limit := 0
	if v := q.Get("limit"); v != "" {
		if limit, err = strconv.Atoi(v); err != nil || limit < 0 {
			writeErr(w, http.StatusBadRequest, "limit: not a count")
			return
		}
	}
	if v := q.Get("last"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			writeErr(w, http.StatusBadRequest, "last: not a count")
			return
		}
		head, _ := a.AuditStore.Head()
		if head > n && head-n > f.After {
			f.After = head - n
		}
	}
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.WriteHeader(http.StatusOK)
	_ = a.AuditStore.Export(f, limit, func(rec audit.Record) error {
		a.extendWrite(w)
		line := rec.JSON()
		_, err := w.Write(append(line, '\n'))
		return err
	})
}

type verifyAnswer struct {
	NodeID    string `json:"node_id"`
	Events    uint64 `json:"events"`
	Head      uint64 `json:"head"`
	OK        bool   `json:"ok"`
	BrokenAt  uint64 `json:"broken_at,omitempty"`
	Violation string `json:"violation,omitempty"`
}

// serveAuditVerify checks this node's whole chain.
func (a *API) serveAuditVerify(w http.ResponseWriter, r *http.Request, from gateway.Origin) {
	if !a.authorizeOperator(w, r, from, ActionReadAuditLog, a.clusterARN()) {
		return
	}
	n, viol, err := a.AuditStore.VerifyContext(r.Context())
	if err != nil {
		writeErr(w, http.StatusInternalServerError, "audit verify: "+err.Error())
		return
	}
	head, _ := a.AuditStore.Head()
	a.extendWrite(w) // verifying a long chain may take longer than the write timeout
	out := verifyAnswer{NodeID: a.NodeID, Events: n, Head: head, OK: viol == nil}
	if viol != nil {
		out.BrokenAt, out.Violation = viol.Seq, viol.Error()
	}
	writeJSON(w, http.StatusOK, out)
}
