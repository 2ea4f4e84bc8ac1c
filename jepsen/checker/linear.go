package checker

import (
	"fmt"
	"math"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/anishathalye/porcupine"

	"github.com/keyraft/keyraft/jepsen/history"
)

// LinearOptions configures the linearizability checker.
type LinearOptions struct {
	// Timeout bounds porcupine per key group; a group that runs out is
	// Unknown, which is not a pass.
	Timeout time.Duration
	// AllowDeletion: servers ran with a short test day, so a pending key may
	// be deleted during the run.
	AllowDeletion bool
	// Dir, when set, receives linearizability-GROUP.html (porcupine's
	// visualisation) for every group that is not linearizable.
	Dir string
	// Unapplied are indeterminate writes known not to have applied (see
	// Unapplied): they are left out instead of left open.
	Unapplied map[int64]bool
	// Windows narrow ops' intervals by the audit log's order (see
	// Windows); an indeterminate write with a bound returns by it instead
	// of never.
	Windows map[int64]Window
}

// writes are the ops that may change a group's state.
var writes = map[string]bool{
	history.EnableKey: true, history.DisableKey: true, history.ScheduleDeletion: true,
	history.CancelDeletion: true, history.RotateKeyOnDemand: true,
	history.CreateAlias: true, history.UpdateAlias: true,
}

// linearOps turns the history into porcupine operations. Indeterminate
// writes never return (Return = +inf), so porcupine may linearize them
// anywhere after their call, including after everything (not applied),
// unless the audit log says by when they took effect (windows).
// Indeterminate reads and creates constrain nothing and are left out: a
// CreateKey with no answer made, at most, a key no one ever names. So are
// indeterminate writes in unapplied.
func linearOps(ops []history.Op, unapplied map[int64]bool, windows map[int64]Window) []porcupine.Operation {
	var out []porcupine.Operation
	for i := range ops {
		op := &ops[i]
		if op.Group == "" {
			continue
		}
		if op.Status == history.Info && !writes[op.Type] {
			continue
		}
		if op.Type == history.CreateKey && op.Status != history.OK {
			continue
		}
		if op.Unsent() {
			continue // it reached no leader: it neither changed nor read state
		}
		if op.Status == history.Info && unapplied[op.ID] {
			continue // the audit log shows its command never committed
		}
		call, ret := op.InvokeNS, op.CompleteNS
		if op.Status == history.Info {
			ret = math.MaxInt64
		}
		// A bound before the op's own call means the log broke real time,
		// which the audit checker reports; porcupine keeps the op's own.
		if w, ok := windows[op.ID]; ok && w.By > call {
			ret = min(ret, w.By)
			if w.From < ret {
				call = max(call, w.From)
			}
		}
		out = append(out, porcupine.Operation{ClientId: op.Process, Input: op, Call: call, Output: op, Return: ret})
	}
	return out
}

// Linearizable checks that every key group's metadata (state, alias target,
// rotation count, and crypto ops as reads of them) is linearizable.
func Linearizable(ops []history.Op, opt LinearOptions) Result {
	const name = "linearizable"
	if opt.Timeout == 0 {
		opt.Timeout = time.Minute
	}
	m := keyModel{allowDeletion: opt.AllowDeletion}
	pm := m.porcupineModel()
	groups := pm.Partition(linearOps(ops, opt.Unapplied, opt.Windows))
	sort.Slice(groups, func(i, j int) bool {
		return groupLess(groups[i][0].Input.(*history.Op).Group, groups[j][0].Input.(*history.Op).Group)
	})
	single := pm
	single.Partition = nil // each group is already one partition
	// Groups are independent: check them side by side, each within its
	// own budget.
	verdicts := make([]porcupine.CheckResult, len(groups))
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(groups)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				verdicts[i] = porcupine.CheckOperationsTimeout(single, groups[i], opt.Timeout)
			}
		}()
	}
	for i := range groups {
		next <- i
	}
	close(next)
	wg.Wait()
	stats := map[string]any{"groups": len(groups)}
	open, resolved, bounded := 0, 0, 0
	for i := range ops {
		if op := &ops[i]; op.Group != "" && op.Status == history.Info && writes[op.Type] {
			switch {
			case opt.Unapplied[op.ID]:
				resolved++
			case opt.Windows[op.ID].By != 0 && opt.Windows[op.ID].By != math.MaxInt64:
				bounded++
			default:
				open++
			}
		}
	}
	stats["indeterminate_writes_open"], stats["indeterminate_writes_unapplied"] = open, resolved
	stats["indeterminate_writes_applied"] = bounded
	var illegal, unknown []string
	var counter strings.Builder
	total, largest := 0, 0
	for i, g := range groups {
		total += len(g)
		largest = max(largest, len(g))
		group := g[0].Input.(*history.Op).Group
		switch verdicts[i] {
		case porcupine.Ok:
			continue
		case porcupine.Unknown:
			unknown = append(unknown, group)
			continue
		}
		illegal = append(illegal, group)
		res, info := porcupine.CheckOperationsVerbose(single, g, opt.Timeout)
		if len(illegal) == 1 {
			counter.WriteString(explain(m, group, g, info))
			var left []string
			for i := range ops {
				if op := &ops[i]; op.Group == group && op.Status == history.Info && opt.Unapplied[op.ID] {
					left = append(left, fmt.Sprintf("#%d %s", op.ID, op.Type))
				}
			}
			if len(left) > 0 {
				fmt.Fprintf(&counter, "left out as never applied (no committed audit event, or a refusal): %s\n", strings.Join(left, ", "))
			}
		}
		if opt.Dir != "" && res == porcupine.Illegal {
			path := filepath.Join(opt.Dir, "linearizability-"+group+".html")
			if err := porcupine.VisualizePath(single, info, path); err == nil {
				fmt.Fprintf(&counter, "\nvisualisation: %s", path)
			}
		}
	}
	stats["largest_group"] = largest
	stats["ops"] = total
	summary := fmt.Sprintf("%d ops in %d key groups (largest %d); indeterminate writes: %d open, %d applied and %d not applied per the audit log",
		total, len(groups), largest, open, bounded, resolved)
	switch {
	case len(illegal) > 0:
		stats["illegal_groups"] = illegal
		return fail(name, summary+fmt.Sprintf("; not linearizable: %s", strings.Join(illegal, ", ")), counter.String(), stats)
	case len(unknown) > 0:
		stats["unknown_groups"] = unknown
		return Result{Name: name, Verdict: Unknown, Summary: summary + fmt.Sprintf("; porcupine timed out (%s) on %d: %s", opt.Timeout, len(unknown), strings.Join(unknown, ", ")), Stats: stats}
	}
	return pass(name, summary+": linearizable", stats)
}

// groupLess orders group names g1, g2, …, g10 by number.
func groupLess(a, b string) bool {
	x, errx := strconv.Atoi(strings.TrimPrefix(a, "g"))
	y, erry := strconv.Atoi(strings.TrimPrefix(b, "g"))
	if errx != nil || erry != nil || x == y {
		return a < b
	}
	return x < y
}

// explain renders the longest linearizable prefix porcupine found and the
// ops that could not come after it.
func explain(m keyModel, group string, ops []porcupine.Operation, info porcupine.LinearizationInfo) string {
	var longest []porcupine.Operation
	for _, p := range info.PartialLinearizationsOperations() {
		for _, lin := range p {
			if len(lin) > len(longest) {
				longest = lin
			}
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "group %s: the longest linearizable prefix has %d of %d ops; it ends:\n", group, len(longest), len(ops))
	state := groupState{}
	done := map[int64]bool{}
	for i, o := range longest {
		op := o.Input.(*history.Op)
		_, state = m.step(state, op)
		done[op.ID] = true
		if i >= len(longest)-5 {
			fmt.Fprintf(&b, "  %s%s   => %s\n", describe(op), narrowed(o), state)
		}
	}
	// The ops that must come next (called before any remaining op returned)
	// and that no order of could follow from that state.
	var rest []porcupine.Operation
	minRet := int64(math.MaxInt64)
	for _, o := range ops {
		if op := o.Input.(*history.Op); !done[op.ID] {
			rest = append(rest, o)
			minRet = min(minRet, o.Return)
		}
	}
	sort.Slice(rest, func(i, j int) bool { return rest[i].Call < rest[j].Call })
	fmt.Fprintf(&b, "none of these can come next from state %s:\n", state)
	n := 0
	for _, o := range rest {
		if o.Call > minRet || n == 6 {
			break
		}
		n++
		op := o.Input.(*history.Op)
		fmt.Fprintf(&b, "  %s   [%.3fs, %.3fs]%s on %s req=%s\n", describe(op), float64(op.InvokeNS)/1e9, float64(op.CompleteNS)/1e9, narrowed(o), op.Node, op.RequestID)
	}
	return b.String()
}

// narrowed names the interval the audit log left an op, when it is
// narrower than the op's own.
func narrowed(o porcupine.Operation) string {
	op := o.Input.(*history.Op)
	if o.Call == op.InvokeNS && (o.Return == op.CompleteNS || o.Return == math.MaxInt64) {
		return ""
	}
	return fmt.Sprintf(" (by the audit log within [%.3fs, %.3fs])", float64(o.Call)/1e9, float64(o.Return)/1e9)
}
