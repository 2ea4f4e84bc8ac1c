package fsm

import "github.com/keyraft/keyraft/fsm/fsmpb"

// applyAuditBatch chains a batch of events into the audit store and returns
// the sequence number of the first. A store that cannot be written stops
// the replica (continuing would let its log diverge from the others'); one
// that is out of space makes it wait for space (nospace.go).
func (f *FSM) applyAuditBatch(cmd *fsmpb.Command, index uint64) uint64 {
	var c fsmpb.AuditBatch
	decodePayload(cmd, &c)
	if f.audit == nil {
		panic("fsm: audit batch applied to an FSM without an audit store")
	}
	var first uint64
	f.untilWritten(func() (err error) {
		first, err = f.audit.Append(index, c.Events)
		return err
	})
	f.noteUsage(c.Events)
	return first
}

// applyAuditTrim enforces retention, identically on every replica.
func (f *FSM) applyAuditTrim(cmd *fsmpb.Command, index uint64) uint64 {
	var c fsmpb.AuditTrim
	decodePayload(cmd, &c)
	if f.audit == nil {
		panic("fsm: audit trim applied to an FSM without an audit store")
	}
	var seq uint64
	f.untilWritten(func() (err error) {
		seq, err = f.audit.Trim(index, c.BeforeSeq, c.Event)
		return err
	})
	return seq
}
