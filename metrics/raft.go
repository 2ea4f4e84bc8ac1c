package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Raft is the cluster layer's part: how long commands take to commit and
// to apply, and how often the leader changes.
type Raft struct {
	commit        prometheus.Histogram
	apply         prometheus.Histogram
	applied       prometheus.Counter
	leaderChanges prometheus.Counter
	isLeader      *funcGauge
}

func newRaft(reg prometheus.Registerer) *Raft {
	r := &Raft{
		commit: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: Namespace, Subsystem: "raft", Name: "commit_seconds",
			Help:    "Time from the leader proposing a command to its being committed and applied on the leader (successful proposals only).",
			Buckets: latencyBuckets,
		}),
		apply: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: Namespace, Subsystem: "raft", Name: "fsm_apply_seconds",
			Help:    "Time the state machine took to apply one run of committed log entries on this node.",
			Buckets: applyBuckets,
		}),
		applied: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: Namespace, Subsystem: "raft", Name: "fsm_applied_entries_total",
			Help: "Committed log entries the state machine applied on this node.",
		}),
		leaderChanges: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: Namespace, Subsystem: "raft", Name: "leader_changes_total",
			Help: "Times this node saw a new leader elected (a change of leader, not the loss of one).",
		}),
		isLeader: newFuncGauge(prometheus.GaugeOpts{
			Namespace: Namespace, Subsystem: "raft", Name: "is_leader",
			Help: "1 while this node leads the cluster, else 0.",
		}),
	}
	reg.MustRegister(r.commit, r.apply, r.applied, r.leaderChanges, r.isLeader)
	return r
}

// Commit records a command's successful commit, proposed d ago.
func (r *Raft) Commit(d time.Duration) {
	if r == nil {
		return
	}
	r.commit.Observe(d.Seconds())
}

// Applied records the state machine applying entries entries in d.
func (r *Raft) Applied(entries int, d time.Duration) {
	if r == nil {
		return
	}
	r.apply.Observe(d.Seconds())
	r.applied.Add(float64(entries))
}

// LeaderChanged counts a new leader seen.
func (r *Raft) LeaderChanged() {
	if r == nil {
		return
	}
	r.leaderChanges.Inc()
}

// WatchLeader makes keyraft_raft_is_leader report isLeader.
func (r *Raft) WatchLeader(isLeader func() bool) {
	if r == nil {
		return
	}
	r.isLeader.set(boolFunc(isLeader))
}
