package operator

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/keyraft/keyraft/internal/version"
)

// Health is the body of GET /v1/sys/health, Vault's fields where keyraft
// has them. It names no node, leader or address: anyone who reaches the API
// may read it, and a load balancer needs only the status code.
type Health struct {
	Initialized bool `json:"initialized"`
	Sealed      bool `json:"sealed"`
	// Standby: this node is unsealed and follows; it forwards KMS and IAM
	// requests to the leader.
	Standby bool `json:"standby"`
	// HAConnectionHealthy (standbys only): this node knows a leader to
	// forward to. Vault's name for it.
	HAConnectionHealthy *bool  `json:"ha_connection_healthy,omitempty"`
	ServerTimeUTC       int64  `json:"server_time_utc"`
	Version             string `json:"version"`
}

// healthCodes are the status codes a health check answers, Vault's
// defaults unless the query overrides them.
type healthCodes struct {
	active, standby, haUnhealthy, sealed, uninit int
	standbyOK                                    bool
}

// Vault's default codes. 474 is Vault's "standby that cannot reach the
// active node": a keyraft follower that knows no leader cannot forward.
var defaultHealthCodes = healthCodes{active: 200, standby: 429, haUnhealthy: 474, sealed: 503, uninit: 501}

// parseHealthQuery reads Vault's health query parameters: standbyok,
// activecode, standbycode, haunhealthycode, sealedcode, uninitcode. Vault's
// perfstandbyok, performancestandbycode, drsecondarycode and removedcode
// are checked and accepted but change nothing: keyraft has no performance
// standbys, DR secondaries or removed-node state of that kind. A boolean
// given without a value is true. Other parameters are ignored, as Vault
// does.
func parseHealthQuery(q url.Values) (healthCodes, error) {
	c := defaultHealthCodes
	codes := map[string]*int{"activecode": &c.active, "standbycode": &c.standby, "haunhealthycode": &c.haUnhealthy,
		"sealedcode": &c.sealed, "uninitcode": &c.uninit,
		"performancestandbycode": new(int), "drsecondarycode": new(int), "removedcode": new(int)}
	for name, p := range codes {
		v := q.Get(name)
		if v == "" {
			continue
		}
		n, err := strconv.Atoi(v)
		// A code outside 200-599 would make net/http write an
		// informational answer (or panic), not a health check's.
		if err != nil || n < 200 || n > 599 {
			return c, fmt.Errorf("%s must be an HTTP status code from 200 to 599, not %q", name, v)
		}
		*p = n
	}
	for name, p := range map[string]*bool{"standbyok": &c.standbyOK, "perfstandbyok": new(bool)} {
		vs, given := q[name]
		if !given {
			continue
		}
		// A bare `?standbyok` (no value, or `standbyok=`) is a switch
		// turned on: what the one writing it means, and what Vault did
		// before 1.3 (Vault 1.3 and later weak-decode it to false).
		v := vs[0]
		if v == "" {
			*p = true
			continue
		}
		b, err := strconv.ParseBool(v)
		if err != nil {
			return c, fmt.Errorf("%s must be true or false, not %q", name, v)
		}
		*p = b
	}
	return c, nil
}

// health reports this node's health and the status code it earns under
// codes (parseHealthQuery's). It reads only local state (the FSM's init record, the barrier,
// Raft's role): a load balancer may poll it as often as it likes at no
// cost to the cluster.
func (a *API) health(c healthCodes) (Health, int) {
	_, initialized := a.State.Init()
	sealed := a.Barrier.Status(0).Sealed
	h := Health{Initialized: initialized, Sealed: sealed, ServerTimeUTC: time.Now().UTC().Unix(), Version: version.String()}
	switch {
	case !initialized:
		// An uninitialised node is sealed too (it has no root key), as Vault reports.
		h.Sealed = true
		return h, c.uninit
	case sealed:
		return h, c.sealed
	case a.Node.IsLeader():
		return h, c.active
	}
	h.Standby = true
	// A standby is healthy when it serves: it follows a leader it has heard
	// from within the heartbeat timeout, can reach it, and has caught up
	// (Ready), not merely when it knows a leader's name.
	healthy, _ := a.Ready()
	h.HAConnectionHealthy = &healthy
	switch {
	case !healthy:
		return h, c.haUnhealthy
	case c.standbyOK:
		return h, c.active
	}
	return h, c.standby
}

// serveHealth answers GET and HEAD /v1/sys/health, unauthenticated.
func (a *API) serveHealth(w http.ResponseWriter, r *http.Request) {
	codes, err := parseHealthQuery(r.URL.Query())
	if err != nil {
		writeErr(w, http.StatusBadRequest, err.Error())
		return
	}
	h, status := a.health(codes)
	w.Header().Set("Cache-Control", "no-store")
	if r.Method == http.MethodHead {
		w.WriteHeader(status)
		return
	}
	writeJSON(w, status, h)
}
