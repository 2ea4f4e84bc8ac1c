package fsm

import (
	"fmt"
	"slices"

	"github.com/keyraft/keyraft/fsm/fsmpb"
)

// Imported key material (origin EXTERNAL). The leader unwraps, checks and
// seals the material and works out which case it is (first import,
// re-import, new material awaiting rotation); Apply re-checks that case
// against the state, which another command may have moved since.

// allImported reports whether every material of an EXTERNAL key that is a
// version of it is present (one awaiting rotation is not yet a version).
func allImported(k *fsmpb.Key) bool {
	for _, r := range k.Imports {
		if r.Version != 0 && !r.Imported {
			return false
		}
	}
	return len(k.Imports) > 0
}

func importIndex(k *fsmpb.Key, id string) int {
	return slices.IndexFunc(k.Imports, func(r *fsmpb.ImportMaterial) bool { return r.KeyMaterialId == id })
}

func materialOf(k *fsmpb.Key, version uint32) *fsmpb.KeyMaterial {
	for _, m := range k.Material {
		if m.Version == version {
			return m
		}
	}
	return nil
}

func (f *FSM) applyImportKeyMaterial(cmd *fsmpb.Command) error {
	var c fsmpb.ImportKeyMaterial
	decodePayload(cmd, &c)
	r := c.GetRecord()
	if r == nil || r.KeyMaterialId == "" || !r.Imported {
		return fmt.Errorf("%w: import record incomplete", ErrInvalidCommand)
	}
	if (r.Version == 0) != (len(r.SealedPending) != 0) || (r.Version != 0) != (len(c.Sealed) != 0) {
		return fmt.Errorf("%w: import without material", ErrInvalidCommand)
	}
	k, err := f.keyToChange(c.KeyId, StatePendingImport, StateEnabled, StateDisabled)
	if err != nil {
		return err
	}
	if k.Origin != OriginExternal {
		return ErrImportNotExternal
	}
	switch i := importIndex(k, r.KeyMaterialId); {
	case i >= 0:
		// Re-import of the same material: restores it, and sets its
		// expiration anew.
		old := k.Imports[i]
		if old.Version != r.Version {
			return fmt.Errorf("%w: material %s is version %d, not %d", ErrInvalidCommand, r.KeyMaterialId, old.Version, r.Version)
		}
		if r.Version != 0 {
			m := materialOf(k, r.Version)
			if m == nil {
				return fmt.Errorf("%w: no material version %d", ErrInvalidCommand, r.Version)
			}
			m.Sealed = c.Sealed
		}
		if r.Description == "" {
			r.Description = old.Description
		}
		k.Imports[i] = r
	case len(k.Imports) == 0:
		if r.Version != 1 || len(k.Material) != 0 {
			return fmt.Errorf("%w: first import must be version 1", ErrInvalidCommand)
		}
		k.Material = append(k.Material, &fsmpb.KeyMaterial{Version: 1, Sealed: c.Sealed, CreateDate: cmd.Timestamp})
		k.Imports = append(k.Imports, r)
	case c.NewMaterial && k.KeySpec == "SYMMETRIC_DEFAULT":
		if slices.ContainsFunc(k.Imports, func(x *fsmpb.ImportMaterial) bool { return x.Version == 0 }) {
			return ErrPendingRotation
		}
		if r.Version != 0 {
			return fmt.Errorf("%w: new material is not a version before rotation", ErrInvalidCommand)
		}
		k.Imports = append(k.Imports, r)
	default:
		return ErrIncorrectKeyMaterial
	}
	if k.KeyState == string(StatePendingImport) && allImported(k) {
		k.KeyState = string(StateEnabled)
	}
	return nil
}

// applyDeleteImportedKeyMaterial drops one material from the state: the
// key is PendingImport until it is imported again (a key pending deletion
// stays so). Material awaiting rotation is forgotten altogether.
func (f *FSM) applyDeleteImportedKeyMaterial(cmd *fsmpb.Command) error {
	var c fsmpb.ImportDeleteMaterial
	decodePayload(cmd, &c)
	k, err := f.keyToChange(c.KeyId, StatePendingImport, StateEnabled, StateDisabled, StatePendingDeletion)
	if err != nil {
		return err
	}
	if k.Origin != OriginExternal {
		return ErrImportNotExternal
	}
	i := importIndex(k, c.KeyMaterialId)
	if i < 0 {
		return ErrMaterialNotFound
	}
	r := k.Imports[i]
	if c.Expire && (r.ValidTo == 0 || r.ValidTo > cmd.Timestamp || !r.Imported) {
		return ErrNotDue
	}
	if r.Version == 0 {
		k.Imports = slices.Delete(k.Imports, i, i+1)
		f.drops.Add(1)
		return nil
	}
	if !r.Imported {
		return &KeyStateError{KeyID: k.KeyId, State: StatePendingImport}
	}
	r.Imported = false
	if m := materialOf(k, r.Version); m != nil {
		m.Sealed = nil
	}
	f.drops.Add(1)
	if k.KeyState != string(StatePendingDeletion) {
		k.KeyState = string(StatePendingImport)
	}
	return nil
}

// applyRotateImportedKey makes the material awaiting rotation the key's
// next version: RotateKeyOnDemand of an EXTERNAL symmetric key.
func (f *FSM) applyRotateImportedKey(cmd *fsmpb.Command) error {
	var c fsmpb.ImportRotate
	decodePayload(cmd, &c)
	k, err := f.keyToChange(c.KeyId, StateEnabled)
	if err != nil {
		return err
	}
	if k.Origin != OriginExternal {
		return ErrImportNotExternal
	}
	i := importIndex(k, c.KeyMaterialId)
	if i < 0 || k.Imports[i].Version != 0 {
		return ErrPendingRotation
	}
	m := c.GetMaterial()
	if m == nil || len(m.Sealed) == 0 || RotationType(m.RotationType) != RotationTypeOnDemand {
		return fmt.Errorf("%w: rotation without material", ErrInvalidCommand)
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
		return fmt.Errorf("%w: material version %d after %d", ErrInvalidCommand, m.Version, current)
	}
	if onDemand >= MaxOnDemandRotations {
		return ErrRotationLimit
	}
	k.Material = append(k.Material, m)
	k.Imports[i].Version, k.Imports[i].SealedPending = m.Version, nil
	return nil
}
