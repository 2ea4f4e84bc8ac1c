package checker

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/keyraft/keyraft/jepsen/history"
)

// AvailOptions bounds what the availability checker accepts.
type AvailOptions struct {
	// MaxRecovery is the longest a leader kill may leave the cluster
	// without a successful op (default 30 s; hashicorp/raft elects in ~1.5–3 s).
	MaxRecovery time.Duration
	// EndNS is when the workload stopped; the last FinalWindow before it
	// must hold a successful op (the cluster recovered from the last fault).
	EndNS       int64
	FinalWindow time.Duration
}

// FaultStat is the availability around one fault.
type FaultStat struct {
	Fault string `json:"fault"`
	// LongestGap is the longest time without a successful op completing,
	// from the fault's start until the next fault (or the end).
	LongestGap float64 `json:"longest_gap_s"`
	// Recovery, for faults that hit the leader, is from when the fault took
	// effect (the node killed, paused, cut off or sealed) to the first
	// success of an op invoked after that (-1: none).
	Recovery float64 `json:"recovery_s,omitempty"`
}

// Availability measures ok ops/s per second, the longest gap without a
// successful op after each fault, and the recovery time after each fault
// that took out the leader. It fails when a recovery took longer than
// MaxRecovery or nothing succeeded at the end.
func Availability(ops []history.Op, faults []history.Fault, opt AvailOptions) Result {
	const name = "availability"
	if opt.MaxRecovery == 0 {
		opt.MaxRecovery = 30 * time.Second
	}
	if opt.FinalWindow == 0 {
		opt.FinalWindow = 5 * time.Second
	}
	var okDone []int64 // completion times of successful ops, sorted
	for _, op := range ops {
		if op.Status == history.OK {
			okDone = append(okDone, op.CompleteNS)
		}
		opt.EndNS = max(opt.EndNS, op.CompleteNS)
	}
	sort.Slice(okDone, func(i, j int) bool { return okDone[i] < okDone[j] })
	secs := int(opt.EndNS/1e9) + 1
	rate := make([]int, secs)
	for _, t := range okDone {
		rate[t/1e9]++
	}
	var v violations
	var per []FaultStat
	var worst, worstRecovery float64
	for i, f := range faults {
		end := opt.EndNS
		if i+1 < len(faults) {
			end = faults[i+1].StartNS
		}
		fs := FaultStat{Fault: fmt.Sprintf("%s %s %s @%.1fs", f.Kind, f.Target, strings.Join(f.Nodes, ","), float64(f.StartNS)/1e9)}
		fs.LongestGap = longestGap(okDone, f.StartNS, end).Seconds()
		worst = max(worst, fs.LongestGap)
		if f.HitLeader() {
			// From when the fault took effect: until then the leader still
			// serves (a docker kill or an iptables cut takes 0.1–0.6 s), and
			// its answers are no recovery.
			from := f.AppliedNS
			if from == 0 {
				from = f.StartNS
			}
			fs.Recovery = -1
			if r, ok := recovery(ops, from); ok {
				fs.Recovery = r.Seconds()
				worstRecovery = max(worstRecovery, fs.Recovery)
				if r > opt.MaxRecovery {
					v.add("%s: no op succeeded for %.1fs after it (limit %s)", fs.Fault, fs.Recovery, opt.MaxRecovery)
				}
			} else {
				v.add("%s: no op invoked after it ever succeeded", fs.Fault)
			}
		}
		per = append(per, fs)
	}
	if n := len(okDone); n == 0 || okDone[n-1] < opt.EndNS-int64(opt.FinalWindow) {
		v.add("no op succeeded in the last %s of the run: the cluster did not recover", opt.FinalWindow)
	}
	total := len(okDone)
	stats := map[string]any{"ok_per_second": rate, "faults": per, "worst_gap_s": worst, "ok_ops": total,
		"mean_ok_per_s": float64(total) / (float64(opt.EndNS) / 1e9)}
	stats["worst_recovery_s"] = worstRecovery
	summary := fmt.Sprintf("%d ok ops, %.1f/s mean; worst gap after a fault %.1fs; slowest recovery after a leader fault %.1fs",
		total, stats["mean_ok_per_s"], worst, worstRecovery)
	if v.n > 0 {
		return fail(name, summary, v.text(), stats)
	}
	return pass(name, summary, stats)
}

// longestGap is the longest interval in [from, to] with no time in done.
func longestGap(done []int64, from, to int64) time.Duration {
	prev, gap := from, int64(0)
	i := sort.Search(len(done), func(i int) bool { return done[i] >= from })
	for ; i < len(done) && done[i] <= to; i++ {
		gap = max(gap, done[i]-prev)
		prev = done[i]
	}
	return time.Duration(max(gap, to-prev))
}

// recovery is the time from t to the first success of an op invoked after t.
func recovery(ops []history.Op, t int64) (time.Duration, bool) {
	best := int64(-1)
	for _, op := range ops {
		if op.Status == history.OK && op.InvokeNS >= t && (best < 0 || op.CompleteNS < best) {
			best = op.CompleteNS
		}
	}
	return time.Duration(best - t), best >= 0
}
