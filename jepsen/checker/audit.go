package checker

import (
	"fmt"
	"sort"

	"github.com/keyraft/keyraft/jepsen/history"
)

// AuditOptions is what the audit checker compares the history with.
type AuditOptions struct {
	// Run is the token prefix the clients of this run put in User-Agent.
	Run   string
	Nodes []NodeAudit
}

// AuditComplete checks the committed audit log against the history:
//   - every node's chain verifies, and every node holds the same log;
//   - every answered request (one with a request id, whatever its outcome)
//     has exactly one event with that requestID, of the right operation and
//     outcome; a request refused without an id has none; an indeterminate
//     one has at most one;
//   - no request appears twice (by the op token in its User-Agent) and no
//     event names an op the clients never sent;
//   - if op A returned before op B was invoked, A's event comes first;
//   - each key's final rotation count equals its audited rotations.
func AuditComplete(ops []history.Op, opt AuditOptions) Result {
	const name = "audit"
	var v violations
	stats := map[string]any{"nodes": len(opt.Nodes)}
	ref, _ := longestLog(opt.Nodes)
	var unread []string
	for _, n := range opt.Nodes {
		switch {
		case n.Err != "":
			unread = append(unread, n.Node+": "+n.Err)
		case !n.Verified:
			v.add("%s: hash chain does not verify: %s", n.Node, n.Violation)
		}
	}
	for _, n := range opt.Nodes {
		if n.Err == "" {
			compareLogs(&v, n, ref)
		}
	}
	stats["events"] = len(ref)

	byReq := map[string][]AuditEvent{}
	byToken := map[int64][]AuditEvent{}
	for _, ev := range ref {
		if ev.RequestID != "" {
			byReq[ev.RequestID] = append(byReq[ev.RequestID], ev)
		}
		if id, ok := tokenOf(ev.UserAgent, opt.Run); ok {
			byToken[id] = append(byToken[id], ev)
		}
	}
	known := map[int64]bool{}
	seqOf := map[int64]uint64{} // op id -> its event's seq, for answered ops
	matched := 0
	for i := range ops {
		op := &ops[i]
		known[op.ID] = true
		evs := byToken[op.ID]
		if len(evs) > 1 {
			v.add("%s was recorded %d times (seq %d and %d): one request, executed twice", op.String(), len(evs), evs[0].Seq, evs[1].Seq)
			continue
		}
		if op.RequestID == "" {
			switch {
			case op.Status == history.OK:
				v.add("%s succeeded without a request id", op.String())
			case op.Status == history.Fail && len(evs) > 0:
				v.add("%s was refused without a request id, yet event seq %d (%s) records it", op.String(), evs[0].Seq, evs[0].ErrorCode)
			}
			continue
		}
		same := byReq[op.RequestID]
		switch {
		case len(same) == 0:
			v.add("%s was answered with request id %s but no committed event has it", op.String(), op.RequestID)
			continue
		case len(same) > 1:
			v.add("request id %s of %s appears in %d events", op.RequestID, op.String(), len(same))
			continue
		}
		ev := same[0]
		matched++
		seqOf[op.ID] = ev.Seq
		wantErr := ""
		if op.Status != history.OK {
			wantErr = op.Error
		}
		switch {
		case ev.EventName != op.Type:
			v.add("%s: its event seq %d is a %s", op.String(), ev.Seq, ev.EventName)
		case op.Status != history.Info && ev.ErrorCode != wantErr:
			v.add("%s: its event seq %d records errorCode %q", op.String(), ev.Seq, ev.ErrorCode)
		case len(evs) == 1 && evs[0].Seq != ev.Seq:
			v.add("%s: request id names event seq %d but its token names seq %d", op.String(), ev.Seq, evs[0].Seq)
		}
	}
	for id, evs := range byToken {
		if !known[id] {
			v.add("phantom: event seq %d (%s, request %s) carries op token %d, which no client sent", evs[0].Seq, evs[0].EventName, evs[0].RequestID, id)
		}
	}
	checkOrder(&v, ops, seqOf)
	checkRotations(&v, ops, ref)
	stats["matched"] = matched
	summary := fmt.Sprintf("%d events on %d nodes; %d answered requests matched", len(ref), len(opt.Nodes), matched)
	switch {
	case v.n > 0:
		return fail(name, summary+fmt.Sprintf("; %d violations", v.n), v.text(), stats)
	case len(unread) > 0:
		return Result{Name: name, Verdict: Unknown, Summary: summary + "; unreadable: " + fmt.Sprint(unread), Stats: stats}
	}
	return pass(name, summary+", chains verified, logs identical", stats)
}

// compareLogs checks that node n holds exactly the reference log.
func compareLogs(v *violations, n NodeAudit, ref []AuditEvent) {
	for i := range n.Events {
		if n.Events[i].Seq != ref[i].Seq || n.Events[i].Hash != ref[i].Hash {
			v.add("%s diverges from the longest log at position %d: seq %d hash %.12s vs seq %d hash %.12s",
				n.Node, i, n.Events[i].Seq, n.Events[i].Hash, ref[i].Seq, ref[i].Hash)
			return
		}
	}
	if len(n.Events) < len(ref) {
		v.add("%s holds %d events, the longest log %d (it stopped at seq %d)", n.Node, len(n.Events), len(ref), lastSeq(n.Events))
	}
}

// checkOrder: events of ops that did not overlap are in real-time order.
func checkOrder(v *violations, ops []history.Op, seqOf map[int64]uint64) {
	type rec struct {
		op  *history.Op
		seq uint64
	}
	var recs []rec
	for i := range ops {
		if s, ok := seqOf[ops[i].ID]; ok {
			recs = append(recs, rec{&ops[i], s})
		}
	}
	byComplete := append([]rec(nil), recs...)
	sort.Slice(byComplete, func(i, j int) bool { return byComplete[i].op.CompleteNS < byComplete[j].op.CompleteNS })
	sort.Slice(recs, func(i, j int) bool { return recs[i].op.InvokeNS < recs[j].op.InvokeNS })
	var best rec // the completed op with the highest seq so far
	j := 0
	for _, b := range recs {
		for j < len(byComplete) && byComplete[j].op.CompleteNS < b.op.InvokeNS {
			if byComplete[j].seq > best.seq {
				best = byComplete[j]
			}
			j++
		}
		if best.op != nil && best.seq > b.seq {
			v.add("real-time order: %s (seq %d) returned before %s (seq %d) was invoked", best.op.String(), best.seq, b.op.String(), b.seq)
			return
		}
	}
}

// checkRotations compares each key's final rotation count (the last
// successful ListKeyRotations) with the successful RotateKeyOnDemand events:
// a rotation that applied without its event, or an event without its
// rotation, breaks "every request yields one event".
func checkRotations(v *violations, ops []history.Op, log []AuditEvent) {
	final := map[string]*history.Op{}
	for i := range ops {
		op := &ops[i]
		if op.Type == history.ListKeyRotations && op.Status == history.OK {
			if f, ok := final[op.Key]; !ok || f.CompleteNS < op.CompleteNS {
				final[op.Key] = op
			}
		}
	}
	audited, unsure := map[string]int{}, map[string]int{}
	for _, ev := range log {
		switch {
		case ev.EventName != history.RotateKeyOnDemand:
		case ev.ErrorCode == "":
			audited[ev.Key]++
		case indeterminateCodes[ev.ErrorCode]:
			unsure[ev.Key]++
		}
	}
	keys := make([]string, 0, len(final))
	for k := range final {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if n := final[k].Out.Count; n != audited[k] {
			v.add("key %s has %d rotations (%s) but the audit log records %d successful RotateKeyOnDemand (and %d that answered a retryable error)",
				k, n, final[k].String(), audited[k], unsure[k])
		}
	}
}

// indeterminateCodes are the answers after which a change may still have
// applied (the command was proposed; its outcome was not seen).
var indeterminateCodes = map[string]bool{
	"ServiceUnavailableException": true, "DependencyTimeoutException": true, "KMSInternalException": true,
}
