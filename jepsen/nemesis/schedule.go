// Package nemesis holds the faults: a schedule drawn from a seed, and the
// loop that injects each fault into a cluster, holds it, heals it and lets
// the cluster recover before the next. The same seed gives the same
// schedule; which node is "the leader" is resolved when the fault begins.
package nemesis

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"time"
)

// Fault kinds.
const (
	Kill      = "kill"      // SIGKILL, then restart and unseal
	Pause     = "pause"     // SIGSTOP / docker pause, then resume
	Partition = "partition" // cut node-to-node links, then heal
	Seal      = "seal"      // operator seal, then the unseal ceremony
)

// AllKinds are the faults a schedule draws from by default.
var AllKinds = []string{Kill, Pause, Partition, Seal}

// Targets: which nodes a fault hits.
const (
	TargetLeader  = "leader"         // the current leader
	TargetRandom  = "random"         // a node drawn from the seed
	IsolateLeader = "isolate-leader" // the leader against everyone else
	Halves        = "halves"         // a random minority against the majority
	Bridge        = "bridge"         // two halves joined only through one node
)

// Step is one planned fault.
type Step struct {
	Kind   string
	Target string
	// Node is the node index a random target hits (also the fallback when
	// there is no leader to hit).
	Node int
	// Perm orders the nodes for halves and bridge partitions.
	Perm []int
	// Hold is how long the fault lasts; Gap how long the cluster then has
	// to recover before the next fault.
	Hold, Gap time.Duration
}

// Schedule is a seeded plan of faults.
type Schedule struct {
	Seed  int64
	Nodes int
	// Quiet is fault-free time at the start (a baseline) and at the end (so
	// the last heal is observed).
	Quiet time.Duration
	Steps []Step
}

// Plan draws a schedule that fits in duration. Hold and gap scale with the
// run: a 60 s run has short faults, a 5 min run longer ones.
func Plan(seed int64, duration time.Duration, nodes int, kinds []string) Schedule {
	r := rand.New(rand.NewPCG(uint64(seed), 0x6b657972616674)) // "keyraft"
	s := Schedule{Seed: seed, Nodes: nodes, Quiet: min(max(duration/12, 3*time.Second), 10*time.Second)}
	holdMin, holdMax := 3*time.Second, 8*time.Second
	gapMin, gapMax := 3*time.Second, 6*time.Second
	if duration < 2*time.Minute {
		holdMin, holdMax, gapMin, gapMax = 2*time.Second, 5*time.Second, 2*time.Second, 4*time.Second
	}
	if len(kinds) == 0 {
		return s
	}
	// Heals take time of their own (a restart and unseal), which the plan
	// cannot know: it plans for none, and Run stops starting faults when
	// the time left is too short (see Run).
	budget := duration - 2*s.Quiet
	// Kinds come in shuffled rounds, so every kind appears once a run has
	// room for a round, and none is starved by the draw.
	var round []string
	for used := time.Duration(0); ; {
		if len(round) == 0 {
			round = append(round, kinds...)
			r.Shuffle(len(round), func(i, j int) { round[i], round[j] = round[j], round[i] })
		}
		st := Step{Kind: round[0], Node: r.IntN(nodes), Perm: r.Perm(nodes)}
		round = round[1:]
		st.Hold = between(r, holdMin, holdMax)
		st.Gap = between(r, gapMin, gapMax)
		switch st.Kind {
		case Partition:
			st.Target = []string{IsolateLeader, Halves, Bridge}[r.IntN(3)]
		default:
			st.Target = []string{TargetLeader, TargetRandom}[r.IntN(2)]
		}
		used += st.Hold + st.Gap
		if used > budget {
			break
		}
		s.Steps = append(s.Steps, st)
	}
	return s
}

func between(r *rand.Rand, lo, hi time.Duration) time.Duration {
	// Whole 100 ms steps, so the printed schedule reads cleanly.
	steps := int64((hi - lo) / (100 * time.Millisecond))
	return lo + time.Duration(r.Int64N(steps+1))*100*time.Millisecond
}

// String prints the schedule, one fault per line.
func (s Schedule) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "seed %d, %d nodes, quiet %s at start and end, up to %d faults (as many as time allows):\n", s.Seed, s.Nodes, s.Quiet, len(s.Steps))
	for i, st := range s.Steps {
		fmt.Fprintf(&b, "  %2d. %-9s %-14s hold %-5s then recover %-5s", i+1, st.Kind, st.Target, st.Hold, st.Gap)
		switch st.Target {
		case TargetRandom:
			fmt.Fprintf(&b, " node n%d", st.Node+1)
		case Halves, Bridge:
			fmt.Fprintf(&b, " %s", describeLinks(s.partition(st, "")))
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// partition returns the links a partition step cuts. leader is the current
// leader (for isolate-leader).
func (s Schedule) partition(st Step, leader string) [][2]string {
	name := func(i int) string { return fmt.Sprintf("n%d", i+1) }
	var links [][2]string
	switch st.Target {
	case IsolateLeader:
		if leader == "" {
			leader = name(st.Node)
		}
		for i := range s.Nodes {
			if n := name(i); n != leader {
				links = append(links, [2]string{leader, n})
			}
		}
	case Halves:
		// The first n/2 of the permutation are the minority.
		k := s.Nodes / 2
		for _, a := range st.Perm[:k] {
			for _, b := range st.Perm[k:] {
				links = append(links, [2]string{name(a), name(b)})
			}
		}
	case Bridge:
		// Perm's middle node sees everyone; the two sides of it see only
		// their own side and the bridge (3 nodes: a-b-c, a and c cut).
		mid := s.Nodes / 2
		for _, a := range st.Perm[:mid] {
			for _, b := range st.Perm[mid+1:] {
				links = append(links, [2]string{name(a), name(b)})
			}
		}
	}
	return links
}

func describeLinks(links [][2]string) string {
	var parts []string
	for _, l := range links {
		parts = append(parts, l[0]+"-x-"+l[1])
	}
	return "cut " + strings.Join(parts, " ")
}
