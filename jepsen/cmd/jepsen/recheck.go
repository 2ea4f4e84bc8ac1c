package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/keyraft/keyraft/jepsen/checker"
	"github.com/keyraft/keyraft/jepsen/control"
	"github.com/keyraft/keyraft/jepsen/history"
	"github.com/keyraft/keyraft/jepsen/report"
)

// recheck re-runs the checkers that need no cluster on a run directory's
// files (history, faults, the saved audit logs): after a checker changes,
// or to look at a failure again. The ciphertext checker needs the cluster
// and is not re-run.
func recheck(dir string, o options) (bool, error) {
	ops, err := history.ReadFile(filepath.Join(dir, report.HistoryFile))
	if err != nil {
		return false, err
	}
	faults, err := history.ReadFaults(filepath.Join(dir, report.FaultsFile))
	if err != nil {
		return false, err
	}
	var runID string
	var nodes []checker.NodeAudit
	logs, _ := filepath.Glob(filepath.Join(dir, "audit-n*.jsonl"))
	sort.Strings(logs)
	for _, path := range logs {
		node := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(path), "audit-"), ".jsonl")
		na := checker.NodeAudit{Node: node}
		f, err := os.Open(path)
		if err != nil {
			return false, err
		}
		na.Events, err = checker.ParseAuditEvents(f)
		f.Close()
		if err != nil {
			return false, err
		}
		var v control.Verify
		if b, err := os.ReadFile(filepath.Join(dir, "audit-verify-"+node+".json")); err == nil && json.Unmarshal(b, &v) == nil {
			na.Verified, na.Violation = v.OK, v.Violation
		} else {
			na.Verified, na.Violation = false, "no saved verification"
		}
		nodes = append(nodes, na)
		if runID == "" {
			runID = runOf(na.Events)
		}
	}
	var endNS int64
	for _, op := range ops {
		if op.Status == history.OK || op.CompleteNS > endNS {
			endNS = max(endNS, op.CompleteNS)
		}
	}
	aopt := checker.AuditOptions{Run: runID, Nodes: nodes}
	results := []checker.Result{
		checker.AuditComplete(ops, aopt),
		checker.Linearizable(ops, checker.LinearOptions{Timeout: o.linTimeout, AllowDeletion: o.dayLength != "", Dir: dir,
			Unapplied: checker.Unapplied(ops, aopt), Windows: checker.Windows(ops, aopt)}),
		checker.NoStaleCrypto(ops),
		checker.SealedSilent(ops, faults),
		checker.SealsAudited(faults, nodes),
		checker.Availability(ops, faults, checker.AvailOptions{}),
	}
	valid := true
	for _, r := range results {
		fmt.Println(r)
		valid = valid && r.OK()
	}
	return valid, nil
}

// runOf finds the run token the clients put in their User-Agents.
func runOf(evs []checker.AuditEvent) string {
	for _, ev := range evs {
		if i := strings.Index(ev.UserAgent, "jepsen/"); i >= 0 {
			tok := ev.UserAgent[i+len("jepsen/"):]
			if j := strings.LastIndex(tok, "-"); j > 0 {
				return tok[:j]
			}
		}
	}
	return ""
}
