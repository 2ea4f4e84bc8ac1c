package checker

import (
	"fmt"
	"sort"

	"github.com/keyraft/keyraft/jepsen/history"
)

// SealsAudited checks that every seal the nemesis applied is in the audit
// log: a node sealed N times without an error has at least N successful
// OperatorSeal events naming it, and no more than the seals attempted on
// it. Sealing the leader hands its leadership off while its event is
// still to be committed, the case where such an event was once lost.
// It reads the most complete node log (AuditComplete checks they agree).
func SealsAudited(faults []history.Fault, nodes []NodeAudit) Result {
	const name = "seals-audited"
	log, read := longestLog(nodes)
	applied, attempted, events := map[string]int{}, map[string]int{}, map[string]int{}
	for _, f := range faults {
		if f.Kind != "seal" || len(f.Nodes) != 1 {
			continue
		}
		attempted[f.Nodes[0]]++
		if f.Error == "" && f.AppliedNS != 0 {
			applied[f.Nodes[0]]++
		}
	}
	for _, ev := range log {
		if ev.EventName == "OperatorSeal" && ev.ErrorCode == "" {
			events[ev.NodeID]++
		}
	}
	var v violations
	var names []string
	for n := range attempted {
		names = append(names, n)
	}
	for n := range events {
		if attempted[n] == 0 {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	total := 0
	for _, n := range names {
		total += applied[n]
		switch {
		case events[n] < applied[n]:
			v.add("%s was sealed %d times but the audit log has %d OperatorSeal events for it", n, applied[n], events[n])
		case events[n] > attempted[n]:
			v.add("%s has %d OperatorSeal events for %d seal attempts", n, events[n], attempted[n])
		}
	}
	stats := map[string]any{"seals": total}
	summary := fmt.Sprintf("%d seals on %d nodes", total, len(names))
	switch {
	case !read:
		return Result{Name: name, Verdict: Unknown, Summary: summary + "; no node's audit log was read", Stats: stats}
	case v.n > 0:
		return fail(name, summary+fmt.Sprintf("; %d violations", v.n), v.text(), stats)
	}
	return pass(name, summary+", each in the audit log", stats)
}
