package metrics

import (
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Unknown is the operation label of a request naming no operation of the
// table, and Other the code label of an error type outside Codes.
const (
	Unknown = "unknown"
	Other   = "other"
	OK      = "ok"
)

// Forward outcomes, the label values of keyraft_forwarded_requests_total.
const (
	ForwardAnswered        = "answered"         // the leader answered (whatever it answered)
	ForwardLeadershipMoved = "leadership_moved" // the node asked no longer led
	ForwardNoLeader        = "no_leader"        // no leader could be reached
)

// Gateway is the request pipeline's part: requests by operation and
// outcome, their latency, and the forwards of a follower.
type Gateway struct {
	requests  *prometheus.CounterVec
	latency   *prometheus.HistogramVec
	forwarded *prometheus.CounterVec
	// ops is the operation table's names, set once by Operations; a name
	// outside it is counted as Unknown.
	ops atomic.Pointer[map[string]bool]
}

func newGateway(reg prometheus.Registerer) *Gateway {
	g := &Gateway{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "requests_total",
			Help: "KMS and IAM requests received from clients on this node, by operation and by outcome: ok or the AWS error code answered.",
		}, []string{"operation", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: Namespace, Name: "request_duration_seconds",
			Help:    "Time from a KMS or IAM request's arrival on this node to its answer, forwarding and the audit commit included, by operation.",
			Buckets: latencyBuckets,
		}, []string{"operation"}),
		forwarded: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "forwarded_requests_total",
			Help: "KMS and IAM requests this node, as a follower, forwarded to the leader, by outcome: answered, leadership_moved or no_leader.",
		}, []string{"outcome"}),
	}
	reg.MustRegister(g.requests, g.latency, g.forwarded)
	for _, o := range []string{ForwardAnswered, ForwardLeadershipMoved, ForwardNoLeader} {
		g.forwarded.WithLabelValues(o)
	}
	return g
}

// Operations names the operations requests may be counted under (the
// gateway's operation table) and starts their series at zero, so that a
// rate is defined before the first request. Call it once, before serving.
func (g *Gateway) Operations(names []string) {
	if g == nil {
		return
	}
	ops := make(map[string]bool, len(names))
	for _, n := range names {
		ops[n] = true
		g.requests.WithLabelValues(n, OK)
	}
	g.ops.Store(&ops)
}

// Request counts one request of operation op (as the operation table
// names it; anything else counts as Unknown), answered with code (an AWS
// error type, or "" for success), that took d.
func (g *Gateway) Request(op, code string, d time.Duration) {
	if g == nil {
		return
	}
	if ops := g.ops.Load(); ops == nil || !(*ops)[op] {
		op = Unknown
	}
	g.requests.WithLabelValues(op, CodeLabel(code)).Inc()
	g.latency.WithLabelValues(op).Observe(d.Seconds())
}

// Forwarded counts one forward to the leader with its outcome (one of the
// Forward constants).
func (g *Gateway) Forwarded(outcome string) {
	if g == nil {
		return
	}
	switch outcome {
	case ForwardAnswered, ForwardLeadershipMoved, ForwardNoLeader:
	default:
		outcome = Other
	}
	g.forwarded.WithLabelValues(outcome).Inc()
}
