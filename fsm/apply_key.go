package fsm

import (
	"fmt"
	"slices"

	"github.com/keyraft/keyraft/fsm/fsmpb"
)

// Limits enforced where they depend on state.
const (
	MaxTagsPerKey           = 50
	MaxOnDemandRotations    = 25
	nanosPerDay             = int64(24 * 60 * 60 * 1e9)
	defaultRotationPeriodDy = 365
)

// key finds a key for a command and checks its state is one of allowed.
func (f *FSM) key(id string, allowed ...KeyState) (*fsmpb.Key, error) {
	k, ok := f.st.keys[id]
	if !ok {
		return nil, fmt.Errorf("%w: %s", ErrKeyNotFound, id)
	}
	if len(allowed) > 0 && !slices.Contains(allowed, KeyState(k.KeyState)) {
		return nil, &KeyStateError{KeyID: id, State: KeyState(k.KeyState)}
	}
	return k, nil
}

func (f *FSM) applyUpdateKeyDescription(cmd *fsmpb.Command) error {
	var c fsmpb.UpdateKeyDescription
	decodePayload(cmd, &c)
	k, err := f.keyToChange(c.KeyId, StateEnabled, StateDisabled, StatePendingImport)
	if err != nil {
		return err
	}
	k.Description = c.Description
	return nil
}

func (f *FSM) applySetKeyEnabled(cmd *fsmpb.Command) error {
	var c fsmpb.SetKeyEnabled
	decodePayload(cmd, &c)
	k, err := f.keyToChange(c.KeyId, StateEnabled, StateDisabled)
	if err != nil {
		return err
	}
	if c.Enabled {
		k.KeyState = string(StateEnabled)
	} else {
		k.KeyState = string(StateDisabled)
	}
	return nil
}

func (f *FSM) applyScheduleKeyDeletion(cmd *fsmpb.Command) error {
	var c fsmpb.ScheduleKeyDeletion
	decodePayload(cmd, &c)
	k, err := f.keyToChange(c.KeyId, StateEnabled, StateDisabled, StatePendingImport)
	if err != nil {
		return err
	}
	k.KeyState, k.DeletionDate, k.PendingWindowDays = string(StatePendingDeletion), c.DeletionDate, c.PendingWindowDays
	return nil
}

func (f *FSM) applyCancelKeyDeletion(cmd *fsmpb.Command) error {
	var c fsmpb.KeyRef
	decodePayload(cmd, &c)
	k, err := f.keyToChange(c.KeyId, StatePendingDeletion)
	if err != nil {
		return err
	}
	k.KeyState, k.DeletionDate, k.PendingWindowDays = string(StateDisabled), 0, 0
	if k.Origin == OriginExternal && !allImported(k) {
		// Its material was deleted or expired meanwhile: nothing to disable.
		k.KeyState = string(StatePendingImport)
	}
	return nil
}

// applyDeleteKey removes a key whose deletion window has ended by the
// leader's timestamp, and every alias that points at it.
func (f *FSM) applyDeleteKey(cmd *fsmpb.Command) error {
	var c fsmpb.KeyRef
	decodePayload(cmd, &c)
	k, err := f.keyToChange(c.KeyId, StatePendingDeletion)
	if err != nil {
		return err
	}
	if k.DeletionDate > cmd.Timestamp {
		return ErrNotDue
	}
	delete(f.st.keys, c.KeyId)
	f.drops.Add(1)
	for name, a := range f.st.aliases {
		if a.TargetKeyId == c.KeyId {
			delete(f.st.aliases, name)
		}
	}
	f.st.grants.removeKey(c.KeyId)
	return nil
}

func (f *FSM) applyTagResource(cmd *fsmpb.Command) error {
	var c fsmpb.TagResource
	decodePayload(cmd, &c)
	k, err := f.keyToChange(c.KeyId, StateEnabled, StateDisabled, StatePendingImport)
	if err != nil {
		return err
	}
	tags := slices.Clone(k.Tags)
	for _, t := range c.Tags {
		i := slices.IndexFunc(tags, func(x *fsmpb.Tag) bool { return x.Key == t.Key })
		if i >= 0 {
			tags[i] = &fsmpb.Tag{Key: t.Key, Value: t.Value}
		} else {
			tags = append(tags, &fsmpb.Tag{Key: t.Key, Value: t.Value})
		}
	}
	if len(tags) > MaxTagsPerKey {
		return ErrTagLimit
	}
	k.Tags = tags
	return nil
}

func (f *FSM) applyUntagResource(cmd *fsmpb.Command) error {
	var c fsmpb.UntagResource
	decodePayload(cmd, &c)
	k, err := f.keyToChange(c.KeyId, StateEnabled, StateDisabled, StatePendingImport)
	if err != nil {
		return err
	}
	k.Tags = slices.DeleteFunc(k.Tags, func(t *fsmpb.Tag) bool { return slices.Contains(c.TagKeys, t.Key) })
	return nil
}

func (f *FSM) applySetKeyRotation(cmd *fsmpb.Command) error {
	var c fsmpb.SetKeyRotation
	decodePayload(cmd, &c)
	k, err := f.keyToChange(c.KeyId, StateEnabled)
	if err != nil {
		return err
	}
	k.RotationEnabled = c.Enabled
	if c.Enabled {
		k.RotationPeriodDays, k.NextRotationDate = c.RotationPeriodDays, c.NextRotationDate
	} else {
		k.NextRotationDate = 0
	}
	return nil
}

// applyRotateKey adds new material. Automatic rotations carry the next date
// of the schedule; on-demand ones are counted against their limit.
func (f *FSM) applyRotateKey(cmd *fsmpb.Command) error {
	var c fsmpb.RotateKey
	decodePayload(cmd, &c)
	k, err := f.keyToChange(c.KeyId, StateEnabled)
	if err != nil {
		return err
	}
	m := c.GetMaterial()
	if m == nil || len(m.Sealed) == 0 {
		return fmt.Errorf("%w: rotation without material", ErrInvalidCommand)
	}
	if k.Origin == OriginExternal {
		// Only imported material may become an EXTERNAL key's (CmdRotateImportedKey).
		return ErrImportNotExternal
	}
	var current uint32
	onDemand := 0
	for _, km := range k.Material {
		current = max(current, km.Version)
		if RotationType(km.RotationType) == RotationTypeOnDemand {
			onDemand++
		}
	}
	if m.Version != current+1 {
		// The leader read an older state; the proposal is stale.
		return fmt.Errorf("%w: material version %d after %d", ErrInvalidCommand, m.Version, current)
	}
	switch RotationType(m.RotationType) {
	case RotationTypeOnDemand:
		if onDemand >= MaxOnDemandRotations {
			return ErrRotationLimit
		}
	case RotationTypeAutomatic:
		if !k.RotationEnabled || k.NextRotationDate > cmd.Timestamp {
			return ErrNotDue
		}
		k.NextRotationDate = c.NextRotationDate
	default:
		return fmt.Errorf("%w: rotation type %q", ErrInvalidCommand, m.RotationType)
	}
	k.Material = append(k.Material, m)
	return nil
}
