// Package report holds what a run leaves behind: results.json and
// results.txt with every checker's verdict, latency and throughput figures,
// and the PNG plot with fault windows shaded. A run's directory also holds
// history.jsonl, faults.jsonl and schedule.txt, written as the run goes.
package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/keyraft/keyraft/jepsen/checker"
	"github.com/keyraft/keyraft/jepsen/history"
)

// Files of a run directory.
const (
	HistoryFile  = "history.jsonl"
	FaultsFile   = "faults.jsonl"
	ScheduleFile = "schedule.txt"
	ResultsJSON  = "results.json"
	ResultsText  = "results.txt"
	PlotFile     = "latency-throughput.png"
)

// Summary is one run's record.
type Summary struct {
	Seed     int64     `json:"seed"`
	Backend  string    `json:"backend"`
	Nodes    int       `json:"nodes"`
	Duration string    `json:"duration"`
	Commit   string    `json:"commit,omitempty"`
	Started  time.Time `json:"started"`
	// Replay is the command line that repeats this run's schedule.
	Replay   string                    `json:"replay"`
	Ops      int                       `json:"ops"`
	ByType   map[string]map[string]int `json:"ops_by_type"`
	Faults   []history.Fault           `json:"faults"`
	Latency  map[string]Percentiles    `json:"latency_ms"`
	Results  []checker.Result          `json:"results"`
	Valid    bool                      `json:"valid"`
	Warnings []string                  `json:"warnings,omitempty"`
	// Snapshots counts each node's Raft snapshots, from its log.
	Snapshots map[string]SnapshotCounts `json:"snapshots,omitempty"`
}

// SnapshotCounts is what a node's log says it did with Raft snapshots:
// took one, restored its own at a restart, installed the leader's.
type SnapshotCounts struct {
	Taken     int `json:"taken"`
	Restored  int `json:"restored"`
	Installed int `json:"installed"`
}

// CountSnapshots reads a hashicorp/raft server log.
func CountSnapshots(log []byte) SnapshotCounts {
	return SnapshotCounts{
		Taken:     bytes.Count(log, []byte("snapshot complete up to")),
		Restored:  bytes.Count(log, []byte("restored from snapshot")),
		Installed: bytes.Count(log, []byte("Installed remote snapshot")),
	}
}

// Summarize fills the figures a summary derives from the history.
func Summarize(s *Summary, ops []history.Op, faults []history.Fault, results []checker.Result) {
	s.Ops, s.Faults, s.Results = len(ops), faults, results
	s.ByType = map[string]map[string]int{}
	for _, op := range ops {
		if s.ByType[op.Type] == nil {
			s.ByType[op.Type] = map[string]int{}
		}
		s.ByType[op.Type][string(op.Status)]++
	}
	s.Latency = Latencies(ops, faults)
	s.Valid = len(results) > 0
	for _, r := range results {
		s.Valid = s.Valid && r.OK()
	}
}

// Write stores results.json and results.txt in dir.
func Write(dir string, s Summary) error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, ResultsJSON), append(b, '\n'), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, ResultsText), []byte(s.Text()), 0o644)
}

// Text is the human summary printed at the end of a run.
func (s Summary) Text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "keyraft jepsen run: backend=%s nodes=%d duration=%s seed=%d", s.Backend, s.Nodes, s.Duration, s.Seed)
	if s.Commit != "" {
		fmt.Fprintf(&b, " commit=%s", s.Commit)
	}
	fmt.Fprintf(&b, "\nreplay: %s\n\n", s.Replay)
	fmt.Fprintf(&b, "%d ops:\n", s.Ops)
	types := make([]string, 0, len(s.ByType))
	for t := range s.ByType {
		types = append(types, t)
	}
	sort.Strings(types)
	for _, t := range types {
		c := s.ByType[t]
		fmt.Fprintf(&b, "  %-20s ok %6d  fail %6d  info %5d\n", t, c["ok"], c["fail"], c["info"])
	}
	fmt.Fprintf(&b, "\n%d faults:\n", len(s.Faults))
	for _, f := range s.Faults {
		fmt.Fprintf(&b, "  %6.1fs-%6.1fs %-9s %-16s %s", float64(f.StartNS)/1e9, float64(f.EndNS)/1e9, f.Kind, f.Target, strings.Join(f.Nodes, ","))
		if f.Detail != "" {
			fmt.Fprintf(&b, " (%s)", f.Detail)
		}
		if f.Leader != "" {
			fmt.Fprintf(&b, " leader=%s", f.Leader)
		}
		if f.NewLeader != "" {
			fmt.Fprintf(&b, " -> %s", f.NewLeader)
		}
		if f.Error != "" {
			fmt.Fprintf(&b, " ERROR: %s", f.Error)
		}
		b.WriteByte('\n')
	}
	fmt.Fprintf(&b, "\nlatency of ok ops (ms):\n")
	phases := make([]string, 0, len(s.Latency))
	for p := range s.Latency {
		phases = append(phases, p)
	}
	sort.Strings(phases)
	for _, p := range phases {
		l := s.Latency[p]
		fmt.Fprintf(&b, "  %-12s n=%-6d p50 %7.1f  p99 %7.1f  max %7.1f\n", p, l.N, l.P50, l.P99, l.Max)
	}
	for _, r := range s.Results {
		if per, ok := r.Stats["faults"].([]checker.FaultStat); ok && len(per) > 0 {
			b.WriteString("\navailability after each fault (longest gap without a success; recovery when it hit the leader):\n")
			for _, f := range per {
				fmt.Fprintf(&b, "  %-44s gap %5.1fs", f.Fault, f.LongestGap)
				if f.Recovery != 0 {
					fmt.Fprintf(&b, "  recovery %5.1fs", f.Recovery)
				}
				b.WriteByte('\n')
			}
		}
	}
	if len(s.Snapshots) > 0 {
		b.WriteString("\nraft snapshots (taken / restored at a restart / installed from the leader):")
		for _, n := range slices.Sorted(maps.Keys(s.Snapshots)) {
			c := s.Snapshots[n]
			fmt.Fprintf(&b, " %s %d/%d/%d", n, c.Taken, c.Restored, c.Installed)
		}
		b.WriteByte('\n')
	}
	for _, w := range s.Warnings {
		fmt.Fprintf(&b, "\nwarning: %s", w)
	}
	b.WriteString("\n\ncheckers:\n")
	for _, r := range s.Results {
		b.WriteString(r.String() + "\n")
	}
	verdict := "PASS"
	if !s.Valid {
		verdict = "FAIL"
	}
	fmt.Fprintf(&b, "\nverdict: %s\n", verdict)
	return b.String()
}
