package fsm

import (
	"fmt"

	"github.com/keyraft/keyraft/fsm/fsmpb"
)

func (f *FSM) applyInit(cmd *fsmpb.Command) any {
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

func (f *FSM) applyCreateKey(cmd *fsmpb.Command) any {
	var ck fsmpb.CreateKey
	decodePayload(cmd, &ck)
	if f.st.init == nil {
		return ErrNotInitialized
	}
	k := ck.GetKey()
	if k.GetKeyId() == "" || len(k.GetMaterial()) == 0 {
		return fmt.Errorf("%w: key record incomplete", ErrInvalidCommand)
	}
	if _, ok := f.st.keys[k.KeyId]; ok {
		return ErrKeyExists
	}
	f.st.keys[k.KeyId] = k
	return nil
}

func (f *FSM) applyRemovePeer(cmd *fsmpb.Command) any {
	var rp fsmpb.RemovePeer
	decodePayload(cmd, &rp)
	if rp.NodeId == "" {
		return fmt.Errorf("%w: node id is empty", ErrInvalidCommand)
	}
	f.st.removed[rp.NodeId] = &rp
	return nil
}
