package metrics

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// Autopilot is the leader's view of the servers' health (cluster's
// autopilot): whether every server is healthy, and how many voters could
// fail without the cluster losing its quorum. Only the leader runs
// autopilot, so only the leader reports these; a follower's scrape has no
// sample of them (an absent series, not a 0 that would page someone).
type Autopilot struct {
	healthy, tolerance *prometheus.Desc

	mu    sync.Mutex
	known bool
	ok    bool
	ft    int
}

func newAutopilot(reg prometheus.Registerer) *Autopilot {
	a := &Autopilot{
		healthy: prometheus.NewDesc(prometheus.BuildFQName(Namespace, "autopilot", "healthy"),
			"1 when autopilot (on the leader) finds every server healthy, else 0; reported by the leader only.", nil, nil),
		tolerance: prometheus.NewDesc(prometheus.BuildFQName(Namespace, "autopilot", "failure_tolerance"),
			"Voters that could fail with the cluster keeping its quorum, as the leader's autopilot counts them; reported by the leader only.", nil, nil),
	}
	reg.MustRegister(a)
	return a
}

// State records autopilot's latest verdict.
func (a *Autopilot) State(healthy bool, failureTolerance int) {
	if a == nil {
		return
	}
	a.mu.Lock()
	a.known, a.ok, a.ft = true, healthy, failureTolerance
	a.mu.Unlock()
}

// Stopped drops the samples: this node no longer leads.
func (a *Autopilot) Stopped() {
	if a == nil {
		return
	}
	a.mu.Lock()
	a.known = false
	a.mu.Unlock()
}

func (a *Autopilot) Describe(ch chan<- *prometheus.Desc) {
	ch <- a.healthy
	ch <- a.tolerance
}

func (a *Autopilot) Collect(ch chan<- prometheus.Metric) {
	a.mu.Lock()
	known, ok, ft := a.known, a.ok, a.ft
	a.mu.Unlock()
	if !known {
		return
	}
	v := 0.0
	if ok {
		v = 1
	}
	ch <- prometheus.MustNewConstMetric(a.healthy, prometheus.GaugeValue, v)
	ch <- prometheus.MustNewConstMetric(a.tolerance, prometheus.GaugeValue, float64(ft))
}
