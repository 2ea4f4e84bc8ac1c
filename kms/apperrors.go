package kms

import (
	"errors"
	"net/http"

	"github.com/keyraft/keyraft/fsm"
	"github.com/keyraft/keyraft/fsm/fsmpb"
	"github.com/keyraft/keyraft/internal/awserr"
)

// refusal names, in AWS's terms, the FSM's refusal err of a command of
// type t. The FSM alone decides whether a command applies (a check made
// here beforehand would race with other commands); this only translates.
// payload is the command's payload, which names the key or alias a
// NotFound message must quote.
func (s *Service) refusal(t fsm.CommandType, payload any, err error) *awserr.Error {
	var kse *fsm.KeyStateError
	switch {
	case errors.As(err, &kse):
		return s.stateError(t, kse)
	case errors.Is(err, fsm.ErrKeyNotFound):
		return notFound("Key '%s' does not exist", s.arn(keyIDIn(payload)))
	case errors.Is(err, fsm.ErrAliasExists):
		return awserr.New("AlreadyExistsException", http.StatusConflict, "An alias with the name %s already exists", s.aliasARN(aliasIn(payload)))
	case errors.Is(err, fsm.ErrAliasNotFound):
		return notFound("Alias %s is not found.", s.aliasARN(aliasIn(payload)))
	case errors.Is(err, fsm.ErrTagLimit):
		return awserr.New("TagException", http.StatusBadRequest, "Too many tags")
	case errors.Is(err, fsm.ErrRotationLimit):
		return awserr.New("LimitExceededException", http.StatusBadRequest,
			"The on-demand rotations limit has been reached for the given keyId. No more on-demand rotations can be performed for this key: %s",
			s.arn(keyIDIn(payload)))
	case errors.Is(err, fsm.ErrNotInitialized):
		return Unavailable("The cluster is not initialized.")
	case errors.Is(err, fsm.ErrInvalidCommand) && t == fsm.CmdRotateKey:
		// The leader built the new material version from a state that another
		// rotation has since moved past.
		return awserr.New("ConflictException", http.StatusConflict, "%s was rotated concurrently; retry.", s.arn(keyIDIn(payload)))
	case errors.Is(err, fsm.ErrGrantLimit):
		return awserr.New("LimitExceededException", http.StatusBadRequest,
			"Cannot exceed quota for GrantsPerKey: %d on key %s", fsm.MaxGrantsPerKey, s.arn(keyIDIn(payload)))
	case errors.Is(err, fsm.ErrGrantNotFound):
		return notFound("Grant ID not found")
	case errors.Is(err, fsm.ErrIncorrectKeyMaterial):
		return awserr.New("IncorrectKeyMaterialException", http.StatusBadRequest,
			"The key material is not the key material previously imported into %s.", s.arn(keyIDIn(payload)))
	case errors.Is(err, fsm.ErrImportNotExternal):
		return awserr.New("UnsupportedOperationException", http.StatusBadRequest,
			"%s origin is not EXTERNAL; this operation is only valid for keys with imported key material.", s.arn(keyIDIn(payload)))
	case errors.Is(err, fsm.ErrMaterialNotFound):
		return notFound("The key material is not associated with %s.", s.arn(keyIDIn(payload)))
	case errors.Is(err, fsm.ErrPendingRotation) && t == fsm.CmdImportKeyMaterial:
		return awserr.New("KMSInvalidStateException", http.StatusConflict,
			"%s already has key material pending rotation; rotate to it or delete it first.", s.arn(keyIDIn(payload)))
	case errors.Is(err, fsm.ErrPendingRotation):
		return awserr.New("KMSInvalidStateException", http.StatusConflict, "%s has no key material pending rotation.", s.arn(keyIDIn(payload)))
	case errors.Is(err, fsm.ErrInvalidCommand) && (t == fsm.CmdImportKeyMaterial || t == fsm.CmdRotateImportedKey):
		return awserr.New("ConflictException", http.StatusConflict, "%s changed concurrently; retry.", s.arn(keyIDIn(payload)))
	case errors.Is(err, fsm.ErrNotDue):
		return awserr.New("KMSInvalidStateException", http.StatusConflict, "%s is not due for this operation.", s.arn(keyIDIn(payload)))
	default:
		return Internal("the request could not be applied")
	}
}

// stateError is AWS's answer when a key's state forbids a command of type t
// (fsm.CmdUnknown for cryptographic operations, which no command carries).
func (s *Service) stateError(t fsm.CommandType, e *fsm.KeyStateError) *awserr.Error {
	arn := s.arn(e.KeyID)
	switch {
	case t == fsm.CmdCancelKeyDeletion || t == fsm.CmdDeleteKey:
		// The only commands that need PendingDeletion: AWS names the missing
		// state, whatever the current one is.
		return awserr.New("KMSInvalidStateException", http.StatusConflict, "%s is not pending deletion.", arn)
	case e.State == fsm.StateDisabled:
		return awserr.New("DisabledException", http.StatusConflict, "%s is disabled.", arn)
	case e.State == fsm.StatePendingDeletion:
		return awserr.New("KMSInvalidStateException", http.StatusConflict, "%s is pending deletion.", arn)
	default:
		return awserr.New("KMSInvalidStateException", http.StatusConflict, "%s is %s.", arn, e.State)
	}
}

func keyIDIn(payload any) string {
	switch p := payload.(type) {
	case *fsmpb.CreateGrant:
		return p.GetGrant().GetKeyId()
	case interface{ GetTargetKeyId() string }:
		return p.GetTargetKeyId()
	case interface{ GetKeyId() string }:
		return p.GetKeyId()
	}
	return ""
}

func aliasIn(payload any) string {
	if p, ok := payload.(interface{ GetAliasName() string }); ok {
		return p.GetAliasName()
	}
	return ""
}
