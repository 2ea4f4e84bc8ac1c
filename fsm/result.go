package fsm

import (
	"context"
	"errors"
	"fmt"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/keyraft/keyraft/audit"
)

// Result is what a command that applied produced.
type Result struct {
	// AuditSeq is the sequence number of the first event an audit batch
	// stored, or the first one an audit trim kept; zero for other commands.
	AuditSeq uint64
}

// RefusedError is the FSM's refusal of a valid command, the same on every
// replica: the command is in the log and changed nothing. Err is one of the
// sentinel errors above or a *KeyStateError, which errors.Is and errors.As
// find through it. Any other error from proposing is the cluster's: the
// command may or may not apply later (see cluster.NotAppended).
type RefusedError struct{ Err error }

func (e *RefusedError) Error() string { return e.Err.Error() }
func (e *RefusedError) Unwrap() error { return e.Err }

// Refused reports whether err is the FSM's refusal of a command, as
// opposed to a failure to commit it.
func Refused(err error) bool {
	var r *RefusedError
	return errors.As(err, &r)
}

// ErrEncode: a command could not be encoded, so nothing was proposed.
var ErrEncode = errors.New("could not encode the command")

// ResultOf reads Apply's answer for one entry, as raft.ApplyFuture.Response
// hands it back: the refusal as a *RefusedError, else the Result. Apply
// keeps returning any because raft.FSM says so; this is the one place that
// knows what the any holds.
func ResultOf(response any) (Result, error) {
	switch r := response.(type) {
	case nil:
		return Result{}, nil
	case error:
		return Result{}, &RefusedError{Err: r}
	case uint64:
		return Result{AuditSeq: r}, nil
	}
	panic(fmt.Sprintf("fsm: unexpected Apply response %T", response))
}

// Proposer commits an encoded command through Raft and waits until this
// server has applied it (cluster.Node.Apply): a refusal is a *RefusedError,
// any other error the cluster's.
type Proposer func(ctx context.Context, cmd []byte) (Result, error)

// ProposeAudited is the write path the KMS and IAM operations share. It
// proposes a command stamped now that carries the request's audit event
// (rec.Carry(answer): the event with the answer the operation will give if
// the command applies), so the change and its event commit as one entry,
// and marks rec: Recorded when the command applied, Indeterminate when the
// cluster failed to commit it (it may still apply later, event and all).
// A refused command leaves rec as it was: nothing went into the log. rec
// may be nil (no audit). The error is ErrEncode, a *RefusedError, or the
// cluster's failure.
func ProposeAudited(ctx context.Context, propose Proposer, rec *audit.Recorder, t CommandType, payload proto.Message, now time.Time, answer any) (Result, error) {
	cmd, err := NewAuditedCommand(t, payload, now, rec.Carry(answer))
	if err != nil {
		return Result{}, fmt.Errorf("%w: %v", ErrEncode, err)
	}
	res, err := propose(ctx, cmd)
	switch {
	case err == nil:
		rec.Set(audit.Recorded)
	case !Refused(err):
		rec.Set(audit.Indeterminate)
	}
	return res, err
}
