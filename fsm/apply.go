package fsm

import (
	"fmt"

	"github.com/keyraft/keyraft/fsm/fsmpb"
)

func (f *FSM) applyInit(cmd *fsmpb.Command) error {
	var in fsmpb.Init
	decodePayload(cmd, &in)
	if f.st.init != nil {
		return ErrAlreadyInitialized
	}
	if len(in.SealedKeyring) == 0 || in.Threshold == 0 || in.Threshold > in.Shares || in.GetRootAccessKey().GetAccessKeyId() == "" {
		return fmt.Errorf("%w: init record incomplete", ErrInvalidCommand)
	}
	f.st.setInit(&in)
	return nil
}

func (f *FSM) applyCreateKey(cmd *fsmpb.Command) error {
	var ck fsmpb.CreateKey
	decodePayload(cmd, &ck)
	if f.st.init == nil {
		return ErrNotInitialized
	}
	k := ck.GetKey()
	// A key for imported material (origin EXTERNAL) begins without any.
	external := k.GetOrigin() == OriginExternal && k.GetKeyState() == string(StatePendingImport)
	if k.GetKeyId() == "" || (len(k.GetMaterial()) == 0 && !external) || (external && len(k.GetMaterial()) != 0) {
		return fmt.Errorf("%w: key record incomplete", ErrInvalidCommand)
	}
	if _, ok := f.st.keys[k.KeyId]; ok {
		return ErrKeyExists
	}
	// Usage is noted from the audit events alone (usage.go), and tracked
	// from the key's creation.
	k.LastUsedDate, k.LastUsedOperation, k.LastUsedEventId, k.LastUsedRequestId = 0, "", "", ""
	k.UsageTrackedSince = k.CreationDate
	f.st.putKey(k)
	return nil
}

func (f *FSM) applyRemovePeer(cmd *fsmpb.Command) error {
	var rp fsmpb.RemovePeer
	decodePayload(cmd, &rp)
	if rp.NodeId == "" {
		return fmt.Errorf("%w: node id is empty", ErrInvalidCommand)
	}
	f.st.removed[rp.NodeId] = &rp
	delete(f.st.voters, rp.NodeId) // only remove-peer frees an id
	return nil
}

// applyBindVoter records which server identity owns a node id. The first
// binding holds: a different identity for a bound id is refused, so that
// the leader never adds a second process under a voter's id.
func (f *FSM) applyBindVoter(cmd *fsmpb.Command) error {
	var v fsmpb.Voter
	decodePayload(cmd, &v)
	if v.NodeId == "" || v.Identity == "" {
		return fmt.Errorf("%w: voter record incomplete", ErrInvalidCommand)
	}
	if old, ok := f.st.voters[v.NodeId]; ok && old.Identity != v.Identity {
		return ErrVoterBound
	}
	f.st.voters[v.NodeId] = &v
	return nil
}
