package fsm

import "github.com/keyraft/keyraft/fsm/fsmpb"

// observeTime keeps the latest leader timestamp applied, the floor of the
// cluster clock. Audit batches do not count: they may be applied through
// ApplyBatch's fast path, which does not decode their envelope, and every
// replica must keep the same value whichever path it took.
func (f *FSM) observeTime(cmd *fsmpb.Command) {
	if CommandType(cmd.Type) == CmdAuditBatch || cmd.Timestamp <= f.st.lastTime {
		return
	}
	f.st.lastTime = cmd.Timestamp
	f.lastTime.Store(cmd.Timestamp)
}

// LastTimestamp is the latest leader timestamp (Unix nanoseconds) of the
// commands applied so far, audit batches aside; zero before any.
func (f *FSM) LastTimestamp() int64 { return f.lastTime.Load() }
