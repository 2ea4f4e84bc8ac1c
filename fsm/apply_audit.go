package fsm

import (
	"fmt"

	"github.com/keyraft/keyraft/fsm/fsmpb"
)

// applyAuditBatch chains a batch of events into the audit store and returns
// the sequence number of the first. A store that cannot be written stops
// the replica: continuing would let its log diverge from the others'.
func (f *FSM) applyAuditBatch(cmd *fsmpb.Command, index uint64) any {
	var c fsmpb.AuditBatch
	decodePayload(cmd, &c)
	if f.audit == nil {
		panic("fsm: audit batch applied to an FSM without an audit store")
	}
	first, err := f.audit.Append(index, c.Events)
	if err != nil {
		panic(fmt.Sprintf("fsm: audit store: %v", err))
	}
	return first
}

// applyAuditTrim enforces retention, identically on every replica.
func (f *FSM) applyAuditTrim(cmd *fsmpb.Command, index uint64) any {
	var c fsmpb.AuditTrim
	decodePayload(cmd, &c)
	if f.audit == nil {
		panic("fsm: audit trim applied to an FSM without an audit store")
	}
	seq, err := f.audit.Trim(index, c.BeforeSeq, c.Event)
	if err != nil {
		panic(fmt.Sprintf("fsm: audit store: %v", err))
	}
	return seq
}
