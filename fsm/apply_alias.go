package fsm

import (
	"github.com/keyraft/keyraft/fsm/fsmpb"
)

func (f *FSM) applyCreateAlias(cmd *fsmpb.Command) error {
	var c fsmpb.AliasChange
	decodePayload(cmd, &c)
	if _, ok := f.st.aliases[c.AliasName]; ok {
		return ErrAliasExists
	}
	if _, err := f.key(c.TargetKeyId, StateEnabled, StateDisabled, StatePendingImport); err != nil {
		return err
	}
	f.st.aliases[c.AliasName] = &fsmpb.Alias{
		AliasName: c.AliasName, TargetKeyId: c.TargetKeyId, CreationDate: cmd.Timestamp, LastUpdatedDate: cmd.Timestamp,
	}
	return nil
}

// applyUpdateAlias points an alias at another key; the old target may be
// pending deletion, the new one may not (as in AWS).
func (f *FSM) applyUpdateAlias(cmd *fsmpb.Command) error {
	var c fsmpb.AliasChange
	decodePayload(cmd, &c)
	a, ok := f.st.aliases[c.AliasName]
	if !ok {
		return ErrAliasNotFound
	}
	if _, err := f.key(c.TargetKeyId, StateEnabled, StateDisabled, StatePendingImport); err != nil {
		return err
	}
	a.TargetKeyId, a.LastUpdatedDate = c.TargetKeyId, cmd.Timestamp
	return nil
}

func (f *FSM) applyDeleteAlias(cmd *fsmpb.Command) error {
	var c fsmpb.AliasChange
	decodePayload(cmd, &c)
	if _, ok := f.st.aliases[c.AliasName]; !ok {
		return ErrAliasNotFound
	}
	delete(f.st.aliases, c.AliasName)
	return nil
}
