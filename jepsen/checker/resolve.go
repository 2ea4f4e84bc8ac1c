package checker

import (
	"math"

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
	ref, byToken := tokenIndex(opt)
	if ref == nil {
		return nil
	}
	out := map[int64]bool{}
	for i := range ops {
		op := &ops[i]
		if op.Status != history.Info || !carried[op.Type] {
			continue
		}
		switch at := byToken[op.ID]; {
		case len(at) == 0:
			out[op.ID] = true
		case len(at) == 1 && ref[at[0]].ErrorCode != "" && !indeterminateCodes[ref[at[0]].ErrorCode]:
			out[op.ID] = true
		}
	}
	return out
}

// Window is the part of an op's interval that the committed audit log
// leaves for its linearization point; From is 0 and By +inf where the log
// says nothing.
type Window struct{ From, By int64 }

// Windows narrows ops' intervals with the committed log's order, which is
// the order entries applied in. For every op with exactly one event:
//   - By: it took effect (a write applied, a read was evaluated) before the
//     earliest answer to any op whose event comes after its own, since the
//     leader answers an op only once the entry holding its event is applied;
//   - From, for a write whose change rides with its event (one that
//     succeeded, or an indeterminate one whose event records success): its
//     change applied after the latest call of any op whose event comes
//     before its own, since that op's entry committed first. A read or a
//     refusal has no such bound: it may be decided long before its event is
//     appended.
//
// The linearizability checker uses them as the ops' calls and returns (an
// indeterminate write that applied returns by By instead of never). This
// only narrows the search, so like Unapplied it cannot turn a violation into
// a pass; a log whose order broke real time fails the audit checker. Without
// it, writes that waited out a paused leader and then all answered at once
// overlap each other and a dozen more ops, and porcupine tries their orders:
// CI's seed 116874181 ran out of its two minutes on such a group, and one
// group of a local replay took 0.5 s where its neighbours took 0.5 ms.
// Returns nil when no node's log could be read.
func Windows(ops []history.Op, opt AuditOptions) map[int64]Window {
	ref, byToken := tokenIndex(opt)
	if ref == nil {
		return nil
	}
	byID := make(map[int64]*history.Op, len(ops))
	for i := range ops {
		byID[ops[i].ID] = &ops[i]
	}
	// called[i]: the latest call of an op with an event before position
	// i; answered[i]: the earliest answer to an op with an event at or
	// after position i.
	called := make([]int64, len(ref)+1)
	answered := make([]int64, len(ref)+1)
	answered[len(ref)] = math.MaxInt64
	opAt := make([]*history.Op, len(ref))
	for id, at := range byToken {
		if op := byID[id]; op != nil && len(at) == 1 {
			opAt[at[0]] = op
		}
	}
	for i, op := range opAt {
		called[i+1] = called[i]
		if op != nil {
			called[i+1] = max(called[i+1], op.InvokeNS)
		}
	}
	for i := len(ref) - 1; i >= 0; i-- {
		answered[i] = answered[i+1]
		if op := opAt[i]; op != nil && op.Status == history.OK {
			answered[i] = min(answered[i], op.CompleteNS)
		}
	}
	out := map[int64]Window{}
	for i, op := range opAt {
		if op == nil {
			continue
		}
		w := Window{By: answered[i+1]}
		applied := carried[op.Type] && ref[i].ErrorCode == "" && (op.Status == history.OK || op.Status == history.Info)
		if applied {
			w.From = called[i]
		}
		if w.From != 0 || w.By != math.MaxInt64 {
			out[op.ID] = w
		}
	}
	return out
}

// tokenIndex returns the longest log any node gave and, for each op token
// in it, the positions of its events; a nil log when no node's could be read.
func tokenIndex(opt AuditOptions) ([]AuditEvent, map[int64][]int) {
	ref, read := longestLog(opt.Nodes)
	if !read || opt.Run == "" {
		return nil, nil
	}
	if ref == nil {
		ref = []AuditEvent{}
	}
	byToken := map[int64][]int{}
	for i, ev := range ref {
		if id, ok := tokenOf(ev.UserAgent, opt.Run); ok {
			byToken[id] = append(byToken[id], i)
		}
	}
	return ref, byToken
}
