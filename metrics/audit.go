package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Audit is the audit log's part: the leader's group commit and the size of
// this node's audit store.
type Audit struct {
	batchEvents prometheus.Histogram
	batchWait   prometheus.Histogram
	storeBytes  *funcGauge
}

func newAudit(reg prometheus.Registerer) *Audit {
	a := &Audit{
		batchEvents: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: Namespace, Subsystem: "audit", Name: "batch_events",
			Help:    "Events in each audit batch the leader proposed through Raft (requests that changed nothing share a batch).",
			Buckets: prometheus.ExponentialBuckets(1, 2, 11), // 1 … 1024, the batcher's maximum
		}),
		batchWait: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: Namespace, Subsystem: "audit", Name: "batch_wait_seconds",
			Help:    "Time the oldest event of each audit batch waited, from its request submitting it to the batch's proposal.",
			Buckets: latencyBuckets,
		}),
		storeBytes: newFuncGauge(prometheus.GaugeOpts{
			Namespace: Namespace, Subsystem: "audit", Name: "store_bytes",
			Help: "Bytes of audit events held in this node's audit store (its segments).",
		}),
	}
	reg.MustRegister(a.batchEvents, a.batchWait, a.storeBytes)
	return a
}

// Batch records one audit batch of events events, proposed after its
// oldest event had waited waited.
func (a *Audit) Batch(events int, waited time.Duration) {
	if a == nil {
		return
	}
	a.batchEvents.Observe(float64(events))
	a.batchWait.Observe(waited.Seconds())
}

// WatchStore makes keyraft_audit_store_bytes report bytes.
func (a *Audit) WatchStore(bytes func() int64) {
	if a == nil {
		return
	}
	a.storeBytes.set(func() float64 { return float64(bytes()) })
}
