package history

import (
	"bufio"
	"encoding/json"
	"os"
	"time"
)

// Fault is one nemesis action as it happened: when it began, when it was
// healed, and what it did. Times count on the same monotonic clock as Op.
type Fault struct {
	// Kind is the fault: kill, pause, partition, seal (see package nemesis).
	Kind string `json:"kind"`
	// Target says how the nodes were chosen (leader, random, halves, ...).
	Target string `json:"target"`
	// Nodes are the nodes it acted on; for partitions, the description of
	// the cut links is in Detail.
	Nodes  []string `json:"nodes"`
	Detail string   `json:"detail,omitempty"`
	// Leader is the node that led when the fault began, as the cluster said.
	Leader string `json:"leader,omitempty"`
	// NewLeader is the leader once the cluster recovered, if known.
	NewLeader string `json:"new_leader,omitempty"`
	// Error is set when the fault or its heal could not be applied.
	Error string `json:"error,omitempty"`

	StartWall time.Time `json:"start_wall"`
	// StartNS is when the nemesis began the fault; AppliedNS when the
	// action returned (the node is sealed, paused, gone); HealNS when the
	// heal began.
	StartNS   int64 `json:"start_ns"`
	AppliedNS int64 `json:"applied_ns,omitempty"`
	HealNS    int64 `json:"heal_ns,omitempty"`
	// EndNS is when the heal was applied (the node restarted and unsealed,
	// resumed, the links restored); RecoveredNS when every node answered
	// unsealed under one leader again.
	EndNS       int64 `json:"end_ns"`
	RecoveredNS int64 `json:"recovered_ns,omitempty"`
}

// HitLeader reports whether the fault took the leader out of service.
func (f Fault) HitLeader() bool {
	for _, n := range f.Nodes {
		if n == f.Leader && f.Leader != "" {
			return true
		}
	}
	return false
}

// WriteFaults writes faults as JSON lines.
func WriteFaults(path string, faults []Fault) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(f)
	for i := range faults {
		if err := enc.Encode(&faults[i]); err != nil {
			f.Close()
			return err
		}
	}
	return f.Close()
}

// ReadFaults reads what WriteFaults wrote.
func ReadFaults(path string) ([]Fault, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []Fault
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var ft Fault
		if err := json.Unmarshal(sc.Bytes(), &ft); err != nil {
			return nil, err
		}
		out = append(out, ft)
	}
	return out, sc.Err()
}
