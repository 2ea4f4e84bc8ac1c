package nemesis

import (
	"context"
	"fmt"
	"time"

	"github.com/keyraft/keyraft/jepsen/control"
	"github.com/keyraft/keyraft/jepsen/history"
)

// Nemesis injects a schedule's faults into a cluster.
type Nemesis struct {
	Cluster control.Cluster
	Creds   *control.Credentials
	// Since is the run's monotonic clock (history.Recorder.Since), so fault
	// windows and ops share one time line.
	Since func() int64
	Logf  func(format string, args ...any)
	// Recover bounds the wait for a healthy cluster after each heal.
	Recover time.Duration
}

// Run waits out the quiet start, then injects each step, holds it, heals it
// and waits for recovery, until the schedule ends or ctx's deadline is too
// close to hold the next step and still end with the quiet period. Every
// fault is healed even when ctx ends while it is held. It returns what
// happened.
func (n *Nemesis) Run(ctx context.Context, s Schedule) []history.Fault {
	if n.Recover == 0 {
		n.Recover = 30 * time.Second
	}
	var out []history.Fault
	if !sleep(ctx, s.Quiet) {
		return out
	}
	deadline, hasDeadline := ctx.Deadline()
	for i, st := range s.Steps {
		if ctx.Err() != nil || (hasDeadline && time.Until(deadline) < st.Hold+s.Quiet) {
			break
		}
		f := n.inject(ctx, s, st)
		n.logf("fault %d/%d: %s %s on %v leader=%s %s%s", i+1, len(s.Steps), f.Kind, f.Target, f.Nodes, f.Leader, f.Detail, errSuffix(f.Error))
		if f.Error == "" {
			sleep(ctx, st.Hold)
		}
		n.heal(context.WithoutCancel(ctx), &f)
		out = append(out, f)
		n.logf("healed %s after %.1fs, healthy %.1fs later; leader now %s%s", f.Kind, float64(f.EndNS-f.StartNS)/1e9,
			float64(f.RecoveredNS-f.EndNS)/1e9, f.NewLeader, errSuffix(f.Error))
		if !sleep(ctx, st.Gap) {
			break
		}
	}
	return out
}

func (n *Nemesis) logf(format string, args ...any) {
	if n.Logf != nil {
		n.Logf(format, args...)
	}
}

func errSuffix(e string) string {
	if e == "" {
		return ""
	}
	return " ERROR: " + e
}

// inject resolves the step's targets and applies the fault.
func (n *Nemesis) inject(ctx context.Context, s Schedule, st Step) history.Fault {
	c := n.Cluster
	leader := control.Leader(ctx, c, n.Creds)
	f := history.Fault{Kind: st.Kind, Target: st.Target, Leader: leader, StartWall: time.Now(), StartNS: n.Since()}
	node := c.Nodes()[st.Node]
	if st.Target == TargetLeader && leader != "" {
		node = leader
	}
	var err error
	switch st.Kind {
	case Kill:
		f.Nodes = []string{node}
		err = c.Kill(ctx, node)
	case Pause:
		f.Nodes = []string{node}
		err = c.Pause(ctx, node)
	case Seal:
		f.Nodes = []string{node}
		err = control.Seal(ctx, c, n.Creds, node)
	case Partition:
		links := s.partition(st, leader)
		f.Detail = describeLinks(links)
		f.Nodes = minoritySide(links, c.Nodes())
		err = c.Cut(ctx, links)
	default:
		err = fmt.Errorf("unknown fault kind %q", st.Kind)
	}
	if err != nil {
		f.Error = err.Error()
	}
	f.AppliedNS = n.Since()
	return f
}

// minoritySide names the nodes a partition cuts off from the majority:
// the nodes with the most cut links (for isolate-leader, the leader).
func minoritySide(links [][2]string, nodes []string) []string {
	cuts := map[string]int{}
	for _, l := range links {
		cuts[l[0]]++
		cuts[l[1]]++
	}
	var out []string
	for _, n := range nodes {
		if cuts[n] > len(nodes)/2 {
			out = append(out, n)
		}
	}
	if len(out) == 0 || len(out) > len(nodes)/2 {
		// No clear minority (bridges): name every node with a cut link.
		out = out[:0]
		for _, n := range nodes {
			if cuts[n] > 0 {
				out = append(out, n)
			}
		}
	}
	return out
}

// heal undoes the fault and stamps its end, then waits until every node is
// unsealed under one leader again (or Recover passes) and stamps that.
func (n *Nemesis) heal(ctx context.Context, f *history.Fault) {
	c := n.Cluster
	ctx, cancel := context.WithTimeout(ctx, n.Recover+time.Minute)
	defer cancel()
	f.HealNS = n.Since()
	var err error
	switch f.Kind {
	case Kill:
		if err = c.Restart(ctx, f.Nodes[0]); err == nil {
			err = control.Unseal(ctx, c, n.Creds, f.Nodes[0])
		}
	case Pause:
		err = c.Resume(ctx, f.Nodes[0])
	case Seal:
		err = control.Unseal(ctx, c, n.Creds, f.Nodes[0])
	case Partition:
		err = c.Heal(ctx)
	}
	if err != nil && f.Error == "" {
		f.Error = "heal: " + err.Error()
	}
	f.EndNS = n.Since()
	wctx, wcancel := context.WithTimeout(ctx, n.Recover)
	defer wcancel()
	if err := control.WaitHealthy(wctx, c, n.Creds); err != nil && f.Error == "" {
		f.Error = fmt.Sprintf("not healthy %s after the heal", n.Recover)
	}
	f.RecoveredNS = n.Since()
	f.NewLeader = control.Leader(ctx, c, n.Creds)
}

// sleep waits d or until ctx ends; it reports whether the whole d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
