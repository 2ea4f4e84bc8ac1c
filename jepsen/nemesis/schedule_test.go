package nemesis

import (
	"slices"
	"testing"
	"time"
)

func TestPlanIsSeeded(t *testing.T) {
	a := Plan(42, 5*time.Minute, 5, AllKinds)
	b := Plan(42, 5*time.Minute, 5, AllKinds)
	c := Plan(43, 5*time.Minute, 5, AllKinds)
	if a.String() != b.String() {
		t.Fatal("same seed, different schedules")
	}
	if a.String() == c.String() {
		t.Fatal("different seeds, same schedule")
	}
	kinds := map[string]bool{}
	var total time.Duration
	for _, st := range a.Steps {
		kinds[st.Kind] = true
		total += st.Hold + st.Gap
	}
	if len(kinds) != 4 || total+2*a.Quiet > 5*time.Minute {
		t.Fatalf("a 5 min schedule: kinds %v, %s of faults:\n%s", kinds, total, a)
	}
	short := Plan(1, time.Minute, 3, []string{Kill, Pause})
	if len(short.Steps) < 3 {
		t.Fatalf("a 60 s run has only %d faults:\n%s", len(short.Steps), short)
	}
	for _, st := range short.Steps {
		if st.Kind == Partition || st.Kind == Seal {
			t.Fatalf("kind %s not asked for", st.Kind)
		}
	}
	t.Log(a)
}

func TestPartitionLinks(t *testing.T) {
	s := Schedule{Nodes: 5}
	links := s.partition(Step{Target: IsolateLeader}, "n3")
	if len(links) != 4 || links[0] != [2]string{"n3", "n1"} {
		t.Fatalf("isolate: %v", links)
	}
	halves := s.partition(Step{Target: Halves, Perm: []int{4, 0, 1, 2, 3}}, "")
	if len(halves) != 6 || !slices.Contains(halves, [2]string{"n5", "n3"}) || !slices.Contains(halves, [2]string{"n1", "n4"}) {
		t.Fatalf("halves: %v", halves)
	}
	bridge := s.partition(Step{Target: Bridge, Perm: []int{0, 1, 2, 3, 4}}, "")
	// n3 bridges {n1,n2} and {n4,n5}.
	if len(bridge) != 4 || slices.ContainsFunc(bridge, func(l [2]string) bool { return l[0] == "n3" || l[1] == "n3" }) {
		t.Fatalf("bridge: %v", bridge)
	}
	three := Schedule{Nodes: 3}.partition(Step{Target: Bridge, Perm: []int{2, 0, 1}}, "")
	if len(three) != 1 || three[0] != [2]string{"n3", "n2"} {
		t.Fatalf("3-node bridge: %v", three)
	}
}

func TestMinoritySide(t *testing.T) {
	nodes := []string{"n1", "n2", "n3", "n4", "n5"}
	s := Schedule{Nodes: 5}
	if got := minoritySide(s.partition(Step{Target: IsolateLeader}, "n2"), nodes); !slices.Equal(got, []string{"n2"}) {
		t.Fatalf("isolate: %v", got)
	}
	if got := minoritySide(s.partition(Step{Target: Halves, Perm: []int{3, 1, 0, 2, 4}}, ""), nodes); !slices.Equal(got, []string{"n2", "n4"}) {
		t.Fatalf("halves: %v", got)
	}
}
