package cluster

import (
	"time"

	"github.com/hashicorp/raft"

	"github.com/keyraft/keyraft/fsm"
	"github.com/keyraft/keyraft/metrics"
)

// timedFSM is the state machine as raft drives it, timing each Apply for
// keyraft_raft_fsm_apply_seconds. It keeps fsm.FSM's batching (raft looks
// for ApplyBatch on what it is given); Snapshot and Restore pass through.
type timedFSM struct {
	*fsm.FSM
	m *metrics.Raft
}

var _ raft.BatchingFSM = (*timedFSM)(nil)

func (t *timedFSM) Apply(l *raft.Log) any {
	start := time.Now()
	defer func() { t.m.Applied(1, time.Since(start)) }()
	return t.FSM.Apply(l)
}

func (t *timedFSM) ApplyBatch(logs []*raft.Log) []any {
	start := time.Now()
	defer func() { t.m.Applied(len(logs), time.Since(start)) }()
	return t.FSM.ApplyBatch(logs)
}

// raftFSM is what raft is given: the FSM, timed when metrics are on.
func (n *Node) raftFSM() raft.FSM {
	if n.cfg.Metrics == nil {
		return n.cfg.FSM
	}
	return &timedFSM{FSM: n.cfg.FSM, m: n.cfg.Metrics}
}

// watchLeaders counts the leader changes raft reports to this node: a
// new, known leader different from the last one seen. An election that
// re-elects the same leader is not a change; the loss of a leader is
// counted when the next one is seen.
func (n *Node) watchLeaders() {
	defer n.wg.Done()
	ch := make(chan raft.Observation, 16)
	obs := raft.NewObserver(ch, false, func(o *raft.Observation) bool {
		_, ok := o.Data.(raft.LeaderObservation)
		return ok
	})
	n.raft.RegisterObserver(obs)
	defer n.raft.DeregisterObserver(obs)
	last := ""
	for {
		select {
		case <-n.stopCh:
			return
		case o := <-ch:
			id := string(o.Data.(raft.LeaderObservation).LeaderID)
			if id != "" && id != last {
				last = id
				n.cfg.Metrics.LeaderChanged()
			}
		}
	}
}
