package checker

import (
	"fmt"
	"math/rand/v2"
	"slices"

	"github.com/keyraft/keyraft/jepsen/history"
)

// synthOptions shape a synthetic key group: what a run's workload makes of
// one group while faults come and go.
type synthOptions struct {
	Ops        int     // ops after the group's setup
	Procs      int     // concurrent clients on the group
	RatePerSec float64 // the group's ops/s
	// Indeterminate is how many writes end without an answer (Return =
	// +inf); each one took effect or not, at random.
	Indeterminate int
	// SlowFrac of the ops take up to 3 s (a paused or cut-off node).
	SlowFrac float64
}

// synthGroup makes a linearizable history of one key group. Every op gets a
// linearization point inside its interval (an indeterminate write that
// applied: any time in the 3 s after its call); the outcomes and outputs
// are what the model answers when the ops are applied in that order, as the
// cluster would.
func synthGroup(r *rand.Rand, group string, start int64, o synthOptions, nextID *int64) []history.Op {
	keys := []string{
		fmt.Sprintf("%s-key-a-%08d", group, r.IntN(1e8)),
		fmt.Sprintf("%s-key-b-%08d", group, r.IntN(1e8)),
		fmt.Sprintf("%s-key-c-%08d", group, r.IntN(1e8)),
	}
	alias := "alias/synth-" + group
	type planned struct {
		op    history.Op
		point int64 // linearization point; -1: an indeterminate write that never applied
	}
	var ps []*planned
	add := func(op history.Op, invoke, complete int64) *planned {
		*nextID++
		op.ID, op.Group, op.Node = *nextID, group, fmt.Sprintf("n%d", 1+r.IntN(3))
		op.InvokeNS, op.CompleteNS = invoke, complete
		p := &planned{op: op, point: invoke + r.Int64N(max(1, complete-invoke))}
		ps = append(ps, p)
		return p
	}
	// Setup, sequential: the keys, then the alias.
	now := start
	for _, k := range keys {
		add(history.Op{Type: history.CreateKey, Key: k, Out: history.Output{KeyID: k}}, now, now+10*ms)
		now += 11 * ms
	}
	add(history.Op{Type: history.CreateAlias, Key: keys[0], In: history.Input{Alias: alias, TargetKey: keys[0]}}, now, now+10*ms)
	now += 11 * ms

	// The clients: each runs its ops one after another.
	writeTypes := []string{history.EnableKey, history.EnableKey, history.DisableKey, history.RotateKeyOnDemand,
		history.UpdateAlias, history.ScheduleDeletion, history.CancelDeletion}
	readTypes := []string{history.Encrypt, history.Encrypt, history.GenerateDataKey, history.DescribeKey, history.Decrypt}
	clocks := make([]int64, o.Procs)
	for i := range clocks {
		clocks[i] = now + r.Int64N(int64(float64(o.Procs)*1e9/o.RatePerSec))
	}
	var planWrites []*planned
	for i := range o.Ops {
		p := i % o.Procs
		invoke := clocks[p]
		dur := 2*ms + r.Int64N(20*ms)
		if r.Float64() < o.SlowFrac {
			dur = 100*ms + r.Int64N(2900*ms)
		}
		clocks[p] = invoke + dur + r.Int64N(int64(2*float64(o.Procs)*1e9/o.RatePerSec))
		key := keys[r.IntN(len(keys))]
		var op history.Op
		if r.IntN(3) == 0 {
			typ := writeTypes[r.IntN(len(writeTypes))]
			if typ == history.UpdateAlias {
				op = history.Op{Type: typ, Key: key, In: history.Input{Alias: alias, TargetKey: key}}
			} else {
				op = history.Op{Type: typ, Key: key, In: history.Input{KeyRef: key}}
			}
		} else {
			ref := key
			if r.IntN(4) == 0 {
				ref = alias
			}
			op = history.Op{Type: readTypes[r.IntN(len(readTypes))], Key: key, In: history.Input{KeyRef: ref}}
			if op.Type == history.Decrypt {
				op.In.KeyRef = "" // the blob names the key
			}
		}
		pl := add(op, invoke, invoke+dur)
		if writes[op.Type] {
			planWrites = append(planWrites, pl)
		}
	}
	// Some writes got no answer: each applied at some moment in the 3 s
	// after its call, or never.
	r.Shuffle(len(planWrites), func(i, j int) { planWrites[i], planWrites[j] = planWrites[j], planWrites[i] })
	for _, pl := range planWrites[:min(o.Indeterminate, len(planWrites))] {
		pl.op.Status, pl.op.Error = history.Info, "timeout"
		pl.op.CompleteNS = pl.op.InvokeNS + 3000*ms
		pl.point = -1
		if r.IntN(2) == 0 {
			pl.point = pl.op.InvokeNS + r.Int64N(3000*ms)
		}
	}
	// The final reads, after everything.
	end := start
	for _, p := range ps {
		end = max(end, p.op.CompleteNS)
	}
	for _, k := range keys {
		end += 11 * ms
		add(history.Op{Type: history.DescribeKey, Key: k, In: history.Input{KeyRef: k}}, end, end+10*ms)
	}

	// Apply in linearization order; outcomes follow.
	order := slices.Clone(ps)
	slices.SortStableFunc(order, func(a, b *planned) int { return int(a.point - b.point) })
	m := keyModel{}
	s := groupState{}
	for _, p := range order {
		if p.point < 0 {
			continue
		}
		op := &p.op
		e := m.predict(s, op)
		if op.Status == history.Info {
			if e.err == "" {
				s = e.next
			}
			continue
		}
		if e.err != "" {
			op.Status, op.Error = history.Fail, e.err
			continue
		}
		op.Status = history.OK
		if id, _ := m.target(s, op); s.find(id) >= 0 {
			k := s.Keys[s.find(id)]
			switch op.Type {
			case history.DescribeKey:
				op.Key, op.Out.KeyID, op.Out.State = k.ID, k.ID, k.State
			case history.Encrypt, history.GenerateDataKey:
				op.Key, op.Out.KeyID, op.Out.Version = k.ID, k.ID, uint32(k.Rotations+1)
			case history.Decrypt:
				op.Out.KeyID = k.ID
			}
		}
		s = e.next
	}
	out := make([]history.Op, len(ps))
	for i, p := range ps {
		out[i] = p.op
	}
	return out
}
