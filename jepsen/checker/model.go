package checker

import (
	"fmt"
	"slices"
	"strings"

	"github.com/anishathalye/porcupine"

	"github.com/keyraft/keyraft/jepsen/history"
)

// The linearizability model of one key group: the keys the workload created
// in the group and the group's one alias, which UpdateAlias moves between
// them. A group, not a single key, is the partition because an alias links
// keys; groups share nothing, so porcupine checks them independently.
//
// The rules are keyraft's key-state table (docs/api.md) and its FSM: which
// states allow which change, and which error each refusal carries.

// Key states; Deleted is a key whose pending deletion window ended (the
// leader deletes it at a time the model does not know).
const (
	stEnabled  = "Enabled"
	stDisabled = "Disabled"
	stPending  = "PendingDeletion"
	stDeleted  = "Deleted"
)

// maxOnDemandRotations is keyraft's (and AWS's) limit per key.
const maxOnDemandRotations = 25

type keyRec struct {
	ID        string
	State     string
	Rotations int
}

// groupState is immutable: Step copies before changing.
type groupState struct {
	Keys  []keyRec // sorted by ID
	Alias string   // the key the alias points at; "" when there is none
}

func (s groupState) clone() groupState {
	return groupState{Keys: slices.Clone(s.Keys), Alias: s.Alias}
}

func (s groupState) find(id string) int {
	for i := range s.Keys {
		if s.Keys[i].ID == id {
			return i
		}
	}
	return -1
}

func (s groupState) String() string {
	var b strings.Builder
	for i, k := range s.Keys {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s:%s/r%d", short(k.ID), k.State, k.Rotations)
	}
	alias := "none"
	if s.Alias != "" {
		alias = short(s.Alias)
	}
	return "{" + b.String() + "} alias->" + alias
}

// hash is porcupine's cache key for a state. It is on porcupine's hot path
// (a third of a wide group's check went to formatting the state), so it is
// FNV-1a over the fields, without allocating.
func (s groupState) hash() uint64 {
	h := uint64(14695981039346656037)
	mix := func(str string) {
		for i := 0; i < len(str); i++ {
			h = (h ^ uint64(str[i])) * 1099511628211
		}
		h = (h ^ 0xff) * 1099511628211 // a separator no id or state holds
	}
	for _, k := range s.Keys {
		mix(k.ID)
		mix(k.State)
		h = (h ^ uint64(k.Rotations)) * 1099511628211
	}
	mix(s.Alias)
	return h
}

func short(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	return id
}

// expect is what the model predicts for an op in a state: the outcome
// (error code or "" for success) and the state after it.
type expect struct {
	err  string
	next groupState
	// check validates a successful op's output against the state.
	check func(op *history.Op) bool
}

// keyModel is the model's configuration.
type keyModel struct {
	// allowDeletion lets a PendingDeletion key become Deleted at any moment
	// (servers run with a short test day, so deletion windows end in-run).
	allowDeletion bool
}

// target resolves the key an op addresses: the alias's target for an alias
// reference (with ok=false when the alias does not exist).
func (m keyModel) target(s groupState, op *history.Op) (id string, ok bool) {
	if strings.HasPrefix(op.In.KeyRef, "alias/") {
		return s.Alias, s.Alias != ""
	}
	return op.Key, true
}

// predict computes the expected outcome of op in s.
func (m keyModel) predict(s groupState, op *history.Op) expect {
	next := s.clone()
	same := func(err string) expect { return expect{err: err, next: s} }
	if op.Type == history.CreateKey {
		if s.find(op.Out.KeyID) >= 0 {
			return same("DuplicateKeyId")
		}
		next.Keys = append(next.Keys, keyRec{ID: op.Out.KeyID, State: stEnabled})
		slices.SortFunc(next.Keys, func(a, b keyRec) int { return strings.Compare(a.ID, b.ID) })
		return expect{next: next}
	}
	if op.Type == history.CreateAlias || op.Type == history.UpdateAlias {
		if op.Type == history.CreateAlias && s.Alias != "" {
			return same("AlreadyExistsException")
		}
		if op.Type == history.UpdateAlias && s.Alias == "" {
			return same("NotFoundException")
		}
		i := s.find(op.In.TargetKey)
		switch {
		case i < 0 || s.Keys[i].State == stDeleted:
			return same("NotFoundException")
		case s.Keys[i].State == stPending:
			return same("KMSInvalidStateException")
		}
		next.Alias = op.In.TargetKey
		return expect{next: next}
	}
	id, ok := m.target(s, op)
	i := s.find(id)
	if !ok || i < 0 || s.Keys[i].State == stDeleted {
		if op.Type == history.Decrypt {
			// Decrypt without a KeyId finds the key in the blob; a blob of
			// a deleted key is not a ciphertext keyraft can open.
			return same("InvalidCiphertextException")
		}
		return same("NotFoundException")
	}
	k := s.Keys[i]
	set := func(state string) expect {
		next.Keys[i].State = state
		return expect{next: next}
	}
	switch op.Type {
	case history.DescribeKey:
		return expect{next: s, check: func(op *history.Op) bool { return op.Out.State == k.State && op.Out.KeyID == k.ID }}
	case history.ListKeyRotations:
		return expect{next: s, check: func(op *history.Op) bool { return op.Out.Count == k.Rotations }}
	case history.EnableKey, history.DisableKey, history.ScheduleDeletion:
		if k.State == stPending {
			return same("KMSInvalidStateException")
		}
		return set(map[string]string{history.EnableKey: stEnabled, history.DisableKey: stDisabled, history.ScheduleDeletion: stPending}[op.Type])
	case history.CancelDeletion:
		if k.State != stPending {
			return same("KMSInvalidStateException")
		}
		return set(stDisabled)
	}
	// Everything else needs an Enabled key.
	switch k.State {
	case stDisabled:
		return same("DisabledException")
	case stPending:
		return same("KMSInvalidStateException")
	}
	switch op.Type {
	case history.RotateKeyOnDemand:
		if k.Rotations >= maxOnDemandRotations {
			return same("LimitExceededException")
		}
		next.Keys[i].Rotations++
		return expect{next: next}
	case history.Encrypt, history.GenerateDataKey:
		// The blob names the material version it was made under: the
		// current one, 1 + every rotation linearized before this op.
		return expect{next: s, check: func(op *history.Op) bool {
			return op.Out.KeyID == k.ID && (op.Out.Version == 0 || op.Out.Version == uint32(k.Rotations+1))
		}}
	case history.Decrypt:
		return expect{next: s, check: func(op *history.Op) bool { return op.Out.KeyID == "" || op.Out.KeyID == k.ID }}
	}
	return same("UnmodeledOperation")
}

// deleted is s after the window of a pending key ended: the key is gone and
// so is an alias that pointed at it (keyraft deletes both in one command).
func deleted(s groupState, id string) groupState {
	next := s.clone()
	next.Keys[next.find(id)].State = stDeleted
	if next.Alias == id {
		next.Alias = ""
	}
	return next
}

// step is porcupine's Step for one op.
func (m keyModel) step(s groupState, op *history.Op) (bool, groupState) {
	if ok, next := m.stepNow(s, op); ok {
		return true, next
	}
	if !m.allowDeletion {
		return false, s
	}
	// A pending key may have been deleted just before this op: the latest
	// moment is as good as any other, since earlier ops saw it still there.
	for _, k := range s.Keys {
		if k.State == stPending {
			if ok, next := m.stepNow(deleted(s, k.ID), op); ok {
				return true, next
			}
		}
	}
	return false, s
}

func (m keyModel) stepNow(s groupState, op *history.Op) (bool, groupState) {
	e := m.predict(s, op)
	switch op.Status {
	case history.Info:
		// Indeterminate: linearized here, it took effect (if it could).
		// Porcupine may instead place it at the end, where its effect is
		// invisible: that is the "never happened" case.
		if e.err != "" {
			return true, s
		}
		return true, e.next
	case history.OK:
		if e.err != "" || (e.check != nil && !e.check(op)) {
			return false, s
		}
		return true, e.next
	default:
		if op.Type == history.RotateKeyOnDemand && op.Error == "ConflictException" && e.err == "" {
			// The leader built the version from a state a concurrent
			// rotation moved past; nothing was applied.
			return true, s
		}
		return e.err == op.Error, s
	}
}

// porcupineModel wraps keyModel for porcupine: Input and Output are both the
// *history.Op, partitioned by group.
func (m keyModel) porcupineModel() porcupine.Model {
	return porcupine.Model{
		Partition: func(ops []porcupine.Operation) [][]porcupine.Operation {
			byGroup := map[string][]porcupine.Operation{}
			var order []string
			for _, o := range ops {
				g := o.Input.(*history.Op).Group
				if _, ok := byGroup[g]; !ok {
					order = append(order, g)
				}
				byGroup[g] = append(byGroup[g], o)
			}
			out := make([][]porcupine.Operation, 0, len(order))
			for _, g := range order {
				out = append(out, byGroup[g])
			}
			return out
		},
		Init: func() any { return groupState{} },
		Step: func(state, input, _ any) (bool, any) {
			return m.step(state.(groupState), input.(*history.Op))
		},
		Equal: func(a, b any) bool {
			x, y := a.(groupState), b.(groupState)
			return x.Alias == y.Alias && slices.Equal(x.Keys, y.Keys)
		},
		Hash:              func(state any) uint64 { return state.(groupState).hash() },
		DescribeOperation: func(input, _ any) string { return describe(input.(*history.Op)) },
		DescribeState:     func(state any) string { return state.(groupState).String() },
	}
}

// describe is one op in the model's terms, for counterexamples and the HTML.
func describe(op *history.Op) string {
	var arg string
	switch {
	case op.Type == history.CreateKey:
		arg = short(op.Out.KeyID)
	case op.In.Alias != "":
		arg = op.In.Alias + "->" + short(op.In.TargetKey)
	case strings.HasPrefix(op.In.KeyRef, "alias/"):
		arg = op.In.KeyRef
	default:
		arg = short(op.Key)
	}
	res := string(op.Status)
	switch {
	case op.Error != "":
		res = op.Error
		if op.Status == history.Info {
			res = "info:" + op.Error
		}
	case op.Out.State != "":
		res = op.Out.State
	case op.Out.Version != 0:
		res = fmt.Sprintf("ok v%d", op.Out.Version)
	case op.Type == history.ListKeyRotations && op.Status == history.OK:
		res = fmt.Sprintf("ok %d rotations", op.Out.Count)
	}
	if strings.HasPrefix(op.In.KeyRef, "alias/") && op.Out.KeyID != "" {
		res += " (" + short(op.Out.KeyID) + ")"
	}
	return fmt.Sprintf("#%d %s(%s) -> %s", op.ID, op.Type, arg, res)
}
