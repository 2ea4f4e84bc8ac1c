package iam

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/keyraft/keyraft/audit"
	"github.com/keyraft/keyraft/fsm"
	"github.com/keyraft/keyraft/fsm/fsmpb"
	"github.com/keyraft/keyraft/policy"
	"github.com/keyraft/keyraft/seal"
)

// TargetPrefix is the X-Amz-Target prefix of the IAM operations, which
// keyraft serves as AWS JSON 1.1 on the KMS endpoint.
const TargetPrefix = "KeyraftIAM."

// Error is an IAM error: Type is AWS IAM's error code.
type Error struct {
	Type    string
	Message string
	Status  int
}

func (e *Error) Error() string { return e.Type + ": " + e.Message }

func newErr(typ string, status int, format string, args ...any) *Error {
	return &Error{Type: typ, Status: status, Message: fmt.Sprintf(format, args...)}
}

// Caller is the authenticated principal of a request.
type Caller struct {
	PrincipalARN    string
	UserName        string // "" for the account's root
	SecureTransport bool   // the client reached keyraft over TLS (aws:SecureTransport)
}

// Service runs the IAM operations on the leader.
type Service struct {
	Account string
	FSM     *fsm.FSM
	Propose func(ctx context.Context, cmd []byte) (any, error)
	Keyring func() (*seal.Keyring, error)
	Now     func() time.Time

	policies policy.Cache
}

// Run runs one operation's handler h for call. The handler authorizes
// call against the user it acts on once its request is decoded (authz.go):
// the account's root, or an identity policy allowing iam:OP on that
// user's ARN.
func (s *Service) Run(call *Call, h func() (any, *Error)) (any, *Error) {
	res, e := h()
	if e == nil && !call.authorized {
		// A backstop for a bug, never an answer: every operation authorizes
		// itself before it reads or proposes anything
		// (TestEveryOperationIsAuthorizedOnItsUser).
		return nil, newErr("ServiceFailure", http.StatusInternalServerError, "the operation %s did not authorize its caller", call.Op)
	}
	return res, e
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

var userNamePattern = regexp.MustCompile(`^[\w+=,.@-]{1,64}$`)

func checkUserName(name string) *Error {
	if !userNamePattern.MatchString(name) {
		return newErr("ValidationError", http.StatusBadRequest, "1 validation error detected: Value '%s' at 'userName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]+ and have length 1–64", name)
	}
	return nil
}

// commit proposes a command and maps the FSM's refusal to IAM's error.
// answer is what the operation will answer if the command applies: with the
// call's audit.Recorder, the command carries the request's event (and
// that answer), so the change and its event commit as one entry.
func (s *Service) commit(ctx context.Context, call *Call, t fsm.CommandType, payload proto.Message, answer any) *Error {
	rec := call.Recorder
	cmd, err := fsm.NewAuditedCommand(t, payload, s.now(), rec.Carry(answer))
	if err != nil {
		return newErr("ServiceFailure", http.StatusInternalServerError, "could not encode the command")
	}
	res, err := s.Propose(ctx, cmd)
	if err != nil {
		rec.Set(audit.Indeterminate)
		return newErr("ServiceUnavailable", http.StatusServiceUnavailable, "The cluster could not commit the request: %v; retry.", err)
	}
	err, _ = res.(error)
	switch {
	case err == nil:
		rec.Set(audit.Recorded)
		return nil
	case errors.Is(err, fsm.ErrUserExists):
		return newErr("EntityAlreadyExists", http.StatusConflict, "User with name %s already exists.", userIn(payload))
	case errors.Is(err, fsm.ErrUserNotFound):
		return newErr("NoSuchEntity", http.StatusNotFound, "The user with name %s cannot be found.", userIn(payload))
	case errors.Is(err, fsm.ErrAccessKeyNotFound):
		return newErr("NoSuchEntity", http.StatusNotFound, "The Access Key with id %s cannot be found.", payload.(*fsmpb.DeleteAccessKey).GetAccessKeyId())
	case errors.Is(err, fsm.ErrAccessKeyLimit):
		return newErr("LimitExceeded", http.StatusConflict, "Cannot exceed quota for AccessKeysPerUser: %d", fsm.MaxAccessKeysPerUser)
	case errors.Is(err, fsm.ErrNotInitialized):
		return newErr("ServiceUnavailable", http.StatusServiceUnavailable, "The cluster is not initialized.")
	}
	return newErr("ServiceFailure", http.StatusInternalServerError, "the request could not be applied")
}

func userIn(payload any) string {
	switch p := payload.(type) {
	case *fsmpb.CreateUser:
		return p.GetUser().GetName()
	case *fsmpb.AccessKey:
		return p.GetUserName()
	case *fsmpb.PutUserPolicy:
		return p.GetUserName()
	case *fsmpb.DeleteAccessKey:
		return p.GetUserName()
	}
	return ""
}

// SecretPath is where an access key's secret is sealed in the keyring.
func SecretPath(accessKeyID string) string { return "accesskey/" + accessKeyID }

// NewAccessKey makes an AWS-shaped access key id (AKIA + 16 base32
// characters) and a 40-character secret. The secret is bytes, never a Go
// string, so that its holder can zero it once it has been shown.
func NewAccessKey() (id string, secret []byte, err error) {
	b := make([]byte, 40)
	defer clear(b)
	if _, err := rand.Read(b); err != nil {
		return "", nil, err
	}
	id = "AKIA" + base32.StdEncoding.EncodeToString(b[:10])[:16]
	secret = make([]byte, base64.StdEncoding.EncodedLen(30))
	base64.StdEncoding.Encode(secret, b[10:])
	return id, secret[:40], nil
}

func epochSeconds(nanos int64) float64 { return float64(nanos/1e6) / 1e3 }
