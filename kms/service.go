package kms

import (
	"context"
	"crypto/rand"
	"errors"
	"io"
	"net/http"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/keyraft/keyraft/audit"
	"github.com/keyraft/keyraft/fsm"
	"github.com/keyraft/keyraft/policy"
	"github.com/keyraft/keyraft/seal"
)

// Service runs KMS operations on the leader. Writes commit through Raft.
// Reads answer from the local FSM, so the caller must not release any
// answer before committing the request's audit event through Raft: that
// commit is what proves this node still led when it answered (a deposed
// leader cannot commit), and the gateway does it for every request.
type Service struct {
	Region  string
	Account string
	FSM     *fsm.FSM
	// Propose commits a command through Raft (leader only) and returns the FSM's result.
	Propose func(ctx context.Context, cmd []byte) (any, error)
	// Keyring is the open barrier keyring, or seal.ErrSealed.
	Keyring func() (*seal.Keyring, error)
	Rand    io.Reader
	Now     func() time.Time
	// DayLength is how long one of the API's "days" lasts (deletion windows,
	// rotation periods); zero means 24h. Tests shorten it; clients never see it.
	DayLength time.Duration

	// cacheMu guards material: unsealed key material by "id/version",
	// filled lazily on the leader and zeroed by DropSecrets on seal.
	cacheMu  sync.RWMutex
	material map[string][]byte

	policies policy.Cache
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// days is the duration of n API days.
func (s *Service) days(n int32) time.Duration {
	day := s.DayLength
	if day <= 0 {
		day = 24 * time.Hour
	}
	return time.Duration(n) * day
}

func (s *Service) rand() io.Reader {
	if s.Rand != nil {
		return s.Rand
	}
	return rand.Reader
}

// DropSecrets zeroes every cached secret; called when the node seals.
func (s *Service) DropSecrets() {
	s.cacheMu.Lock()
	defer s.cacheMu.Unlock()
	for k, m := range s.material {
		clear(m)
		delete(s.material, k)
	}
}

const sealedMsg = "This keyraft node is sealed: unseal it with `keyraft operator unseal`, then retry."

// Sealed is the retryable answer of a sealed node.
func Sealed() *Error { return Unavailable(sealedMsg) }

// keyring returns the open keyring or the retryable sealed error.
func (s *Service) keyring() (*seal.Keyring, *Error) {
	kr, err := s.Keyring()
	if err != nil {
		return nil, Sealed()
	}
	return kr, nil
}

// propose commits a command and maps cluster failures to retryable errors.
func (s *Service) propose(ctx context.Context, cmd []byte) (any, *Error) {
	res, err := s.Propose(ctx, cmd)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
			return nil, newErr("DependencyTimeoutException", http.StatusServiceUnavailable, "The request timed out while committing; retry.")
		}
		return nil, Unavailable("The cluster could not commit the request: " + err.Error())
	}
	return res, nil
}

// commit proposes one command stamped with now and returns nil once it has
// applied, or the FSM's refusal as the AWS error for it. The operation
// answers nothing when it succeeds.
func (s *Service) commit(ctx context.Context, call Call, t fsm.CommandType, payload proto.Message, now time.Time) *Error {
	return s.commitAnswer(ctx, call, t, payload, now, nil)
}

// commitAnswer is commit for an operation that will answer answer if the
// command applies. When the call has an audit.Recorder, the command
// carries the request's event (with that answer), so the change and its
// event commit as one entry.
func (s *Service) commitAnswer(ctx context.Context, call Call, t fsm.CommandType, payload proto.Message, now time.Time, answer any) *Error {
	rec := call.Recorder
	cmd, err := fsm.NewAuditedCommand(t, payload, now, rec.Carry(answer))
	if err != nil {
		return Internal("could not encode the command")
	}
	res, e := s.propose(ctx, cmd)
	if e != nil {
		rec.Set(audit.Indeterminate)
		return e
	}
	if e := s.refusal(t, payload, res); e != nil {
		return e
	}
	rec.Set(audit.Recorded)
	return nil
}
