package metrics

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Namespace prefixes every metric keyraft defines.
const Namespace = "keyraft"

// Metrics is one node's registry and the parts of it each instrumented
// package is given. Each node has its own (tests run several in one
// process); nothing is registered with Prometheus's global registry.
type Metrics struct {
	reg     *prometheus.Registry
	handler http.Handler

	Gateway *Gateway
	Raft    *Raft
	Audit   *Audit
	Node    *Node
	// Autopilot is the leader's autopilot verdict (cluster).
	Autopilot *Autopilot
}

// New builds a registry holding every keyraft metric, plus the Go runtime's
// and the process's collectors.
func New() *Metrics {
	reg := prometheus.NewRegistry()
	m := &Metrics{
		reg:     reg,
		Gateway: newGateway(reg),
		Raft:    newRaft(reg),
		Audit:   newAudit(reg),
		Node:    newNode(reg),
	}
	m.Autopilot = newAutopilot(reg)
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m.handler = promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		ErrorHandling: promhttp.ContinueOnError,
		// One scrape gathers at a time; others meanwhile get a 503 at
		// once, so a flood of scrapes costs no more than one. (The limit
		// is the handler's: there is one handler per registry.)
		MaxRequestsInFlight: 1,
		Timeout:             10 * time.Second,
	})
	return m
}

// Handler serves the registry in the Prometheus exposition formats. Errors
// gathering a metric are answered, not panicked: a scrape never takes the
// node down.
func (m *Metrics) Handler() http.Handler { return m.handler }

// Registry is the registry itself, for tests that gather from it.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Latency buckets for a request and a Raft round: from 0.5 ms (a read on
// an idle leader) to 10 s (the gateway's longest wait for a leader).
var latencyBuckets = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

// Apply buckets: the FSM applies one entry (or a run of them) in
// microseconds, unless the audit store writes or waits for disk space.
var applyBuckets = []float64{.00001, .000025, .00005, .0001, .00025, .0005, .001, .0025, .005, .01, .025, .1, 1}

// Sample is the value of the sample of metric name whose labels include
// labels (a histogram's count), summed over every sample that matches; 0
// when none does. It reads the registry as a scrape would, for tests.
func (m *Metrics) Sample(name string, labels map[string]string) float64 {
	fams, err := m.reg.Gather()
	if err != nil {
		return 0
	}
	total := 0.0
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
	samples:
		for _, s := range f.GetMetric() {
			have := map[string]string{}
			for _, l := range s.GetLabel() {
				have[l.GetName()] = l.GetValue()
			}
			for k, v := range labels {
				if have[k] != v {
					continue samples
				}
			}
			switch {
			case s.Counter != nil:
				total += s.GetCounter().GetValue()
			case s.Gauge != nil:
				total += s.GetGauge().GetValue()
			case s.Histogram != nil:
				total += float64(s.GetHistogram().GetSampleCount())
			}
		}
	}
	return total
}
