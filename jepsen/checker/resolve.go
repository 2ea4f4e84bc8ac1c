package checker

import (
	"github.com/keyraft/keyraft/jepsen/history"
)

// carried are the ops whose audit event rides in the Raft command that
// makes their change (keyraft f15b12b): the change and its event commit
// together or not at all. Every write the workload sends is one.
var carried = map[string]bool{
	history.CreateKey: true, history.EnableKey: true, history.DisableKey: true,
	history.ScheduleDeletion: true, history.CancelDeletion: true,
	history.RotateKeyOnDemand: true, history.CreateAlias: true, history.UpdateAlias: true,
}

// Unapplied returns the indeterminate writes that the committed audit log
// shows never changed anything: no event carries the op's token (its
// command never committed, so neither did its change), or its only event
// records a refusal (a definite error code, not a retryable one).
//
// The linearizability checker leaves these out instead of letting porcupine
// place them anywhere after their call. That only narrows the search (a
// linearization without the op is one porcupine could have picked anyway),
// so it cannot turn a violation into a pass; if the log were wrong (a change
// committed without its event) the narrower check may fail, and the audit
// checker says why. Without it, the ~150 writes a 5-minute run leaves
// indeterminate, nearly all of which never applied, keep porcupine busy for
// minutes on a group (a 60-second run had one group of 8 take 116 s).
// Returns nil when no node's log could be read.
func Unapplied(ops []history.Op, opt AuditOptions) map[int64]bool {
	var ref []AuditEvent
	read := false
	for _, n := range opt.Nodes {
		if n.Err != "" {
			continue
		}
		read = true
		if len(n.Events) > len(ref) {
			ref = n.Events
		}
	}
	if !read || opt.Run == "" {
		return nil
	}
	byToken := map[int64][]AuditEvent{}
	for _, ev := range ref {
		if id, ok := tokenOf(ev.UserAgent, opt.Run); ok {
			byToken[id] = append(byToken[id], ev)
		}
	}
	out := map[int64]bool{}
	for i := range ops {
		op := &ops[i]
		if op.Status != history.Info || !carried[op.Type] {
			continue
		}
		switch evs := byToken[op.ID]; {
		case len(evs) == 0:
			out[op.ID] = true
		case len(evs) == 1 && evs[0].ErrorCode != "" && !indeterminateCodes[evs[0].ErrorCode]:
			out[op.ID] = true
		}
	}
	return out
}
