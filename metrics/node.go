package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Connection refusals, the reason label of
// keyraft_api_connections_refused_total.
const (
	RefusedMax     = "max"          // the listener held its maximum
	RefusedPerIP   = "per_ip"       // the source held its maximum
	RefusedEvicted = "evicted_idle" // an idle connection closed to make room
)

// Unseal results, the result label of keyraft_unseal_attempts_total.
const (
	UnsealAccepted  = "accepted"  // the share was taken (progress or unsealed)
	UnsealRejected  = "rejected"  // refused: malformed, wrong share set, not a voter
	UnsealThrottled = "throttled" // refused for coming too fast (429)
	UnsealError     = "error"     // the node could not take it (5xx)
)

// Node is the state of the node as a whole: seal, disk alarms, the API
// listener's connections and unseal attempts.
type Node struct {
	sealed       *funcGauge
	diskFull     *funcGauge
	diskAlarms   *funcGauge
	connections  *funcGauge
	connsRefused *prometheus.CounterVec
	unseals      *prometheus.CounterVec
}

func newNode(reg prometheus.Registerer) *Node {
	n := &Node{
		sealed: newFuncGauge(prometheus.GaugeOpts{
			Namespace: Namespace, Name: "sealed",
			Help: "1 while this node is sealed (serves no request), 0 once unsealed.",
		}),
		diskFull: newFuncGauge(prometheus.GaugeOpts{
			Namespace: Namespace, Name: "disk_full_alarm",
			Help: "1 while this node's own NOSPACE alarm is raised (its data dir is short of space; the cluster refuses writes), else 0.",
		}),
		diskAlarms: newFuncGauge(prometheus.GaugeOpts{
			Namespace: Namespace, Name: "disk_alarms",
			Help: "NOSPACE alarms this node knows of, its own and those the other live servers gossip.",
		}),
		connections: newFuncGauge(prometheus.GaugeOpts{
			Namespace: Namespace, Subsystem: "api", Name: "connections",
			Help: "Connections open on this node's API listener.",
		}),
		connsRefused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Subsystem: "api", Name: "connections_refused_total",
			Help: "Connections the API listener closed at its limits, by reason: max, per_ip or evicted_idle.",
		}, []string{"reason"}),
		unseals: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "unseal_attempts_total",
			Help: "Unseal calls this node answered, by result: accepted, rejected, throttled or error.",
		}, []string{"result"}),
	}
	reg.MustRegister(n.sealed, n.diskFull, n.diskAlarms, n.connections, n.connsRefused, n.unseals)
	for _, r := range []string{RefusedMax, RefusedPerIP, RefusedEvicted} {
		n.connsRefused.WithLabelValues(r)
	}
	for _, r := range []string{UnsealAccepted, UnsealRejected, UnsealThrottled, UnsealError} {
		n.unseals.WithLabelValues(r)
	}
	return n
}

// Watch makes the node's gauges report from these: whether it is sealed,
// whether its own disk alarm is raised, how many disk alarms it knows of,
// and its API listener's open connections.
func (n *Node) Watch(sealed, diskFull func() bool, diskAlarms, connections func() int) {
	if n == nil {
		return
	}
	n.sealed.set(boolFunc(sealed))
	n.diskFull.set(boolFunc(diskFull))
	n.diskAlarms.set(func() float64 { return float64(diskAlarms()) })
	n.connections.set(func() float64 { return float64(connections()) })
}

// ConnectionRefused counts a connection the API listener closed, for
// reason (one of the Refused constants).
func (n *Node) ConnectionRefused(reason string) {
	if n == nil {
		return
	}
	switch reason {
	case RefusedMax, RefusedPerIP, RefusedEvicted:
	default:
		reason = Other
	}
	n.connsRefused.WithLabelValues(reason).Inc()
}

// Unseal counts one unseal call answered with HTTP status status.
func (n *Node) Unseal(status int) {
	if n == nil {
		return
	}
	result := UnsealAccepted
	switch {
	case status == 429:
		result = UnsealThrottled
	case status >= 500:
		result = UnsealError
	case status >= 400:
		result = UnsealRejected
	}
	n.unseals.WithLabelValues(result).Inc()
}
