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

	"github.com/keyraft/keyraft/crypto"
	"github.com/keyraft/keyraft/fsm"
	"github.com/keyraft/keyraft/internal/awserr"
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
	// State reads the replicated state as this server has applied it.
	State fsm.Query
	// Propose commits a command through Raft (leader only).
	Propose fsm.Proposer
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
	// signers holds the parsed private keys of asymmetric material, by the
	// same path: parsing costs as much as an ECDSA or Ed25519 signature.
	signers map[string]*crypto.SigningKey
	// cachedSince are the paths cached since DropStaleSecrets last ran,
	// and dropsSeen the state's MaterialDrops then (housekeeping.go).
	cachedSince []string
	dropsSeen   uint64

	policies policy.Cache
	// keygen bounds concurrent RSA key generation (keygen.go).
	keygen rsaKeygen
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
	for k, sk := range s.signers {
		sk.Zero()
		delete(s.signers, k)
	}
	s.cachedSince = s.cachedSince[:0]
}

const sealedMsg = "This keyraft node is sealed: unseal it with `keyraft operator unseal`, then retry."

// Sealed is the retryable answer of a sealed node.
func Sealed() *awserr.Error { return Unavailable(sealedMsg) }

// keyring returns the open keyring or the retryable sealed error.
func (s *Service) keyring() (*seal.Keyring, *awserr.Error) {
	kr, err := s.Keyring()
	if err != nil {
		return nil, Sealed()
	}
	return kr, nil
}

// commit proposes one command stamped with now and returns nil once it has
// applied, or the FSM's refusal as the AWS error for it. The operation
// answers nothing when it succeeds.
func (s *Service) commit(ctx context.Context, call Call, t fsm.CommandType, payload proto.Message, now time.Time) *awserr.Error {
	return s.commitAnswer(ctx, call, t, payload, now, nil)
}

// commitAnswer is commit for an operation that will answer answer if the
// command applies. When the call has an audit.Recorder, the command
// carries the request's event (with that answer), so the change and its
// event commit as one entry (fsm.ProposeAudited).
func (s *Service) commitAnswer(ctx context.Context, call Call, t fsm.CommandType, payload proto.Message, now time.Time, answer any) *awserr.Error {
	_, err := fsm.ProposeAudited(ctx, s.Propose, call.Recorder, t, payload, now, answer)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, fsm.ErrEncode):
		return Internal("could not encode the command")
	case fsm.Refused(err):
		return s.refusal(t, payload, err)
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled):
		return awserr.New("DependencyTimeoutException", http.StatusServiceUnavailable, "The request timed out while committing; retry.")
	default:
		return Unavailable("The cluster could not commit the request: " + err.Error())
	}
}
