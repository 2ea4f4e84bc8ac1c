package metrics

import (
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
)

// funcGauge is a gauge read at scrape time from a function the node sets
// once it has built what the function reads (prometheus.GaugeFunc wants
// the function when the metric is made, before the node exists). Until
// then it reads 0.
type funcGauge struct {
	desc *prometheus.Desc
	fn   atomic.Pointer[func() float64]
}

func newFuncGauge(opts prometheus.GaugeOpts) *funcGauge {
	name := prometheus.BuildFQName(opts.Namespace, opts.Subsystem, opts.Name)
	return &funcGauge{desc: prometheus.NewDesc(name, opts.Help, nil, nil)}
}

func (g *funcGauge) set(fn func() float64) { g.fn.Store(&fn) }

func (g *funcGauge) Describe(ch chan<- *prometheus.Desc) { ch <- g.desc }

func (g *funcGauge) Collect(ch chan<- prometheus.Metric) {
	v := 0.0
	if fn := g.fn.Load(); fn != nil {
		v = (*fn)()
	}
	ch <- prometheus.MustNewConstMetric(g.desc, prometheus.GaugeValue, v)
}

func boolFunc(f func() bool) func() float64 {
	return func() float64 {
		if f() {
			return 1
		}
		return 0
	}
}
