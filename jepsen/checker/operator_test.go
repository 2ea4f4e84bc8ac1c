package checker

import (
	"testing"

	"github.com/keyraft/keyraft/jepsen/history"
)

func TestSealsAudited(t *testing.T) {
	seal := func(node, errText string) history.Fault {
		return history.Fault{Kind: "seal", Nodes: []string{node}, AppliedNS: 1, Error: errText}
	}
	ev := func(node, code string) AuditEvent {
		return AuditEvent{EventName: "OperatorSeal", NodeID: node, ErrorCode: code}
	}
	faults := []history.Fault{seal("n1", ""), seal("n1", ""), seal("n2", ""), seal("n3", "timeout")}
	logOf := func(evs ...AuditEvent) []NodeAudit {
		return []NodeAudit{{Node: "n1", Events: evs}, {Node: "n2", Err: "unreachable"}}
	}
	for _, tc := range []struct {
		name string
		log  []NodeAudit
		want Verdict
	}{
		{"each seal once", logOf(ev("n1", ""), ev("n1", ""), ev("n2", "")), Pass},
		{"a failed seal attempt that took effect", logOf(ev("n1", ""), ev("n1", ""), ev("n2", ""), ev("n3", "")), Pass},
		{"a leader's seal lost", logOf(ev("n1", ""), ev("n2", "")), Fail},
		{"a refusal does not count", logOf(ev("n1", ""), ev("n1", "AccessDenied"), ev("n2", "")), Fail},
		{"recorded twice", logOf(ev("n1", ""), ev("n1", ""), ev("n1", ""), ev("n2", "")), Fail},
		{"a seal nobody made", logOf(ev("n1", ""), ev("n1", ""), ev("n2", ""), ev("n4", "")), Fail},
		{"no log read", []NodeAudit{{Node: "n1", Err: "unreachable"}}, Unknown},
	} {
		if r := SealsAudited(faults, tc.log); r.Verdict != tc.want {
			t.Errorf("%s: verdict %s, want %s:\n%s", tc.name, r.Verdict, tc.want, r)
		}
	}
}
