package iam

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"encoding/base64"
	"errors"
	"net/http"
	"regexp"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/keyraft/keyraft/fsm"
	"github.com/keyraft/keyraft/fsm/fsmpb"
	"github.com/keyraft/keyraft/internal/awserr"
	"github.com/keyraft/keyraft/policy"
	"github.com/keyraft/keyraft/seal"
)

// TargetPrefix is the X-Amz-Target prefix of the IAM operations, which
// keyraft serves as AWS JSON 1.1 on the KMS endpoint.
const TargetPrefix = "KeyraftIAM."

// Caller is the authenticated principal of a request.
type Caller struct {
	PrincipalARN    string
	UserName        string // "" for the account's root
	SecureTransport bool   // the client reached keyraft over TLS (aws:SecureTransport)
}

// Service runs the IAM operations on the leader.
type Service struct {
	Account string
	// State reads the replicated state as this server has applied it.
	State   fsm.Query
	Propose fsm.Proposer
	Keyring func() (*seal.Keyring, error)
	Now     func() time.Time

	policies policy.Cache
}

// Run runs one operation's handler h for call. The handler authorizes
// call against the user it acts on once its request is decoded (authz.go):
// the account's root, or an identity policy allowing iam:OP on that
// user's ARN.
func (s *Service) Run(call *Call, h func() (any, *awserr.Error)) (any, *awserr.Error) {
	res, e := h()
	if e == nil && !call.authorized {
		// A backstop for a bug, never an answer: every operation authorizes
		// itself before it reads or proposes anything
		// (TestEveryOperationIsAuthorizedOnItsUser).
		return nil, awserr.New("ServiceFailure", http.StatusInternalServerError, "the operation %s did not authorize its caller", call.Op)
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

func checkUserName(name string) *awserr.Error {
	if !userNamePattern.MatchString(name) {
		return awserr.New("ValidationError", http.StatusBadRequest, "1 validation error detected: Value '%s' at 'userName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]+ and have length 1–64", name)
	}
	return nil
}

// commit proposes a command and maps the FSM's refusal to IAM's error.
// answer is what the operation will answer if the command applies: with the
// call's audit.Recorder, the command carries the request's event (and
// that answer), so the change and its event commit as one entry.
func (s *Service) commit(ctx context.Context, call *Call, t fsm.CommandType, payload proto.Message, answer any) *awserr.Error {
	_, err := fsm.ProposeAudited(ctx, s.Propose, call.Recorder, t, payload, s.now(), answer)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, fsm.ErrEncode):
		return awserr.New("ServiceFailure", http.StatusInternalServerError, "could not encode the command")
	case !fsm.Refused(err):
		return awserr.New("ServiceUnavailable", http.StatusServiceUnavailable, "The cluster could not commit the request: %v; retry.", err)
	case errors.Is(err, fsm.ErrUserExists):
		return awserr.New("EntityAlreadyExists", http.StatusConflict, "User with name %s already exists.", userIn(payload))
	case errors.Is(err, fsm.ErrUserNotFound):
		return awserr.New("NoSuchEntity", http.StatusNotFound, "The user with name %s cannot be found.", userIn(payload))
	case errors.Is(err, fsm.ErrAccessKeyNotFound):
		return awserr.New("NoSuchEntity", http.StatusNotFound, "The Access Key with id %s cannot be found.", payload.(*fsmpb.DeleteAccessKey).GetAccessKeyId())
	case errors.Is(err, fsm.ErrUserHasEntities):
		return awserr.New("DeleteConflict", http.StatusConflict, "Cannot delete entity, must delete access keys and policies first.")
	case errors.Is(err, fsm.ErrUserPolicyNotFound):
		return awserr.New("NoSuchEntity", http.StatusNotFound, "The user policy with name %s cannot be found.", payload.(*fsmpb.DeleteUserPolicy).GetPolicyName())
	case errors.Is(err, fsm.ErrAccessKeyLimit):
		return awserr.New("LimitExceeded", http.StatusConflict, "Cannot exceed quota for AccessKeysPerUser: %d", fsm.MaxAccessKeysPerUser)
	case errors.Is(err, fsm.ErrNotInitialized):
		return awserr.New("ServiceUnavailable", http.StatusServiceUnavailable, "The cluster is not initialized.")
	}
	return awserr.New("ServiceFailure", http.StatusInternalServerError, "the request could not be applied")
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
	case *fsmpb.DeleteUser:
		return p.GetUserName()
	case *fsmpb.DeleteUserPolicy:
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

// epochOf is epochSeconds of a time; the zero time (unset) is 0.
func epochOf(t time.Time) float64 {
	if t.IsZero() {
		return 0
	}
	return epochSeconds(t.UnixNano())
}
