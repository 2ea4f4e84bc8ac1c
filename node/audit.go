package node

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/google/uuid"

	"github.com/keyraft/keyraft/audit"
	"github.com/keyraft/keyraft/fsm"
	"github.com/keyraft/keyraft/fsm/fsmpb"
)

// auditBatchWait is the most a batch of events waits for the company recent
// batches had (audit.Batcher). A Raft round here is 2–5 ms of fsyncs; a
// millisecond more per round let 16 clients share rounds instead of
// alternating between two (docs/performance.md).
const auditBatchWait = time.Millisecond

// proposeAudit is the batcher's way into Raft.
func (s *Server) proposeAudit(ctx context.Context, events [][]byte) error {
	cmd, err := fsm.NewAuditBatchCommand(events, s.clock.Now())
	if err != nil {
		return err
	}
	_, err = s.node.Apply(ctx, cmd)
	return err
}

// trimAudit proposes a retention trim when the log holds more events, or
// older ones, than the settings allow. The trim is itself an event. Age
// counts on the cluster clock, and only when byAge: not while this
// server's wall clock disagrees with it.
func (s *Server) trimAudit(ctx context.Context, byAge bool) error {
	retain, age, mib := s.cfg.AuditRetainEvents, s.cfg.AuditRetainAge, s.cfg.AuditRetainMiB
	if retain <= 0 && age <= 0 && mib <= 0 {
		return nil
	}
	head, _ := s.auditStore.Head()
	first := s.auditStore.First()
	var before uint64
	if retain > 0 && first > 0 && head-first+1 > uint64(retain) {
		before = head - uint64(retain) + 1
	}
	if age > 0 && byAge {
		cutoff := s.clock.Now().Add(-age)
		err := s.auditStore.Export(audit.Filter{}, 0, func(r audit.Record) error {
			var ev struct {
				EventTime string `json:"eventTime"`
			}
			if json.Unmarshal(r.Event, &ev) == nil {
				if t, err := time.Parse(time.RFC3339Nano, ev.EventTime); err == nil && t.After(cutoff) {
					return errStopScan
				}
			}
			before = max(before, r.Seq+1)
			return nil
		})
		if err != nil && !errors.Is(err, errStopScan) {
			return err
		}
	}
	if mib > 0 {
		before = max(before, s.auditStore.SizeWindow(int64(mib)<<20))
	}
	before = min(before, head) // the newest event always stays
	if before <= first {
		return nil
	}
	ev := s.events.Base(nil, "AuditTrim", "KeyraftServiceEvent", uuid.NewString(), uuid.NewString())
	ev.EventSource = "keyraft.audit"
	ev.RequestParameters = map[string]any{"trimmedBefore": before, "retainEvents": retain, "retainAge": age.String(), "retainMiB": mib}
	b, err := json.Marshal(ev)
	if err != nil {
		return err
	}
	cmd, err := fsm.NewCommand(fsm.CmdAuditTrim, &fsmpb.AuditTrim{BeforeSeq: before, Event: b}, s.clock.Now())
	if err != nil {
		return err
	}
	_, err = s.node.ApplyFreeing(ctx, cmd) // a trim frees space: it goes on under a NOSPACE alarm
	return err
}

var errStopScan = errors.New("stop scan")
