package fsm

import (
	"fmt"

	"github.com/keyraft/keyraft/fsm/fsmpb"
)

// applyPutKeyPolicy replaces a key's policy. The policy was validated on the
// leader; Apply only checks the key can still be changed.
func (f *FSM) applyPutKeyPolicy(cmd *fsmpb.Command) error {
	var c fsmpb.PutKeyPolicy
	decodePayload(cmd, &c)
	k, err := f.keyToChange(c.KeyId, StateEnabled, StateDisabled, StatePendingDeletion, StatePendingImport)
	if err != nil {
		return err
	}
	if c.Policy == "" {
		return fmt.Errorf("%w: policy is empty", ErrInvalidCommand)
	}
	k.Policy = intern(c.Policy)
	return nil
}

// applyCreateGrant adds a grant. As in AWS, a grant may be created on a
// disabled key (it takes effect when the key is enabled) but not on one
// pending deletion, nor beyond MaxGrantsPerKey grants on the key.
func (f *FSM) applyCreateGrant(cmd *fsmpb.Command) error {
	var c fsmpb.CreateGrant
	decodePayload(cmd, &c)
	g := c.GetGrant()
	if g.GetGrantId() == "" || g.GetGranteePrincipal() == "" || len(g.GetOperations()) == 0 {
		return fmt.Errorf("%w: grant record incomplete", ErrInvalidCommand)
	}
	if _, err := f.key(g.KeyId, StateEnabled, StateDisabled, StatePendingImport); err != nil {
		return err
	}
	if _, ok := f.st.grants.byID[g.GrantId]; ok {
		return fmt.Errorf("%w: grant id in use", ErrInvalidCommand)
	}
	if len(f.st.grants.byKey[g.KeyId]) >= MaxGrantsPerKey {
		return ErrGrantLimit
	}
	f.st.grants.add(g)
	return nil
}

func (f *FSM) applyRemoveGrant(cmd *fsmpb.Command) error {
	var c fsmpb.RemoveGrant
	decodePayload(cmd, &c)
	g, ok := f.st.grants.byID[c.GrantId]
	if !ok || (c.KeyId != "" && g.KeyId != c.KeyId) {
		return ErrGrantNotFound
	}
	f.st.grants.remove(g)
	return nil
}
