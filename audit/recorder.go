package audit

// Outcome is what became of an event carried in a state-changing command.
type Outcome uint8

const (
	// NotCarried: no command carried the event (the request changed no
	// state, or failed before proposing); it must be committed on its own.
	NotCarried Outcome = iota
	// Recorded: the command applied and its event is in the log with it.
	Recorded
	// Indeterminate: the command's fate is unknown (leadership lost, time
	// out); if it commits later, its event commits with it.
	Indeterminate
)

// Recorder lets a write carry its request's audit event inside the command
// that makes the change, so that no change can commit without its event (a
// leader lost between two entries once left exactly that). The gateway makes
// one per request and hands it to the operation with the request's caller
// (kms.Call, iam.Call); the operation's commit path calls Event and then Set.
type Recorder struct {
	// Event builds the request's event, as JSON, with the answer the
	// operation will give if the command applies.
	Event   func(response any) []byte
	outcome Outcome
}

// Carry returns the event a command should carry for a request that will
// answer answer, or nil when the request has no Recorder (r is nil).
func (r *Recorder) Carry(answer any) []byte {
	if r == nil || r.Event == nil {
		return nil
	}
	return r.Event(answer)
}

// Set records what happened to the command that carried the event; on a
// nil Recorder it does nothing. A command that was refused carries nothing
// into the log: the operation may try again (a rotation retried after a
// conflict), or fail and be audited on its own.
func (r *Recorder) Set(o Outcome) {
	if r != nil {
		r.outcome = o
	}
}

// Outcome reports what happened to the event.
func (r *Recorder) Outcome() Outcome { return r.outcome }
