package iam

import (
	"net/http"

	"github.com/keyraft/keyraft/arn"
	"github.com/keyraft/keyraft/audit"
	"github.com/keyraft/keyraft/internal/awserr"
	"github.com/keyraft/keyraft/policy"
)

// An IAM operation acts on a user, and the caller's identity policies are
// evaluated against that user's ARN, as AWS does: a Deny on
// arn:aws:iam::ACCOUNT:user/breakglass holds against an Allow of iam:* on
// "*", and an Allow of iam:CreateAccessKey on the caller's own ARN lets it
// rotate its own keys. Only ListUsers, which names no user, is evaluated
// against "*". Handle cannot know the user before the body is decoded, so
// each operation authorizes itself once it has (authorizeUser).

// Call is one request as the gateway hands it to an operation: who signed
// it, which operation it named, and the audit Recorder through which a
// write carries the request's event (nil: the event is committed on its
// own). Run checks afterwards that the operation authorized the call.
type Call struct {
	Caller   Caller
	Op       string
	Recorder *audit.Recorder

	authorized bool // set by authorizeCall; read by Run
}

// UserARN is the ARN of the account's IAM user name.
func (s *Service) UserARN(name string) string {
	return arn.User(s.Account, name)
}

// authorizeUser authorizes the request's operation on the user *name. An
// empty *name is the caller itself, as AWS reads the operations whose
// UserName is optional (CreateAccessKey, DeleteAccessKey, ListAccessKeys):
// *name is set to it. The root has no user name, and must name one.
func (s *Service) authorizeUser(c *Call, name *string) *awserr.Error {
	if *name == "" {
		if c.Caller.UserName == "" {
			return awserr.New("ValidationError", http.StatusBadRequest, "UserName is required: the account's root is not an IAM user")
		}
		*name = c.Caller.UserName
	}
	if e := checkUserName(*name); e != nil {
		return e
	}
	return s.authorizeCall(c, s.UserARN(*name))
}

// authorizeAny authorizes an operation that names no resource.
func (s *Service) authorizeAny(c *Call) *awserr.Error {
	return s.authorizeCall(c, "*")
}

func (s *Service) authorizeCall(c *Call, resource string) *awserr.Error {
	if e := s.Authorize(c.Caller, "iam:"+c.Op, resource); e != nil {
		return e
	}
	c.authorized = true
	return nil
}

// Authorize decides by the caller's identity policies (the account's root
// may do anything) whether it may perform action on resource, an ARN or
// "*": the IAM operations, and the keyraft actions of the operator API.
func (s *Service) Authorize(c Caller, action, resource string) *awserr.Error {
	ids, err := s.policies.Identities(s.State.UserPolicyDocuments(c.UserName))
	if err != nil {
		return awserr.New("ServiceFailure", http.StatusInternalServerError, "a stored identity policy could not be parsed")
	}
	d := policy.Decide(nil, ids, policy.Request{PrincipalARN: c.PrincipalARN, CallerAccount: s.Account, Action: action, Resource: resource, SecureTransport: c.SecureTransport})
	if d.Allowed {
		return nil
	}
	why := "because no identity-based policy allows the " + action + " action"
	if d.Basis == policy.ExplicitDeny {
		why = "with an explicit deny in an identity-based policy"
	}
	return awserr.New("AccessDenied", http.StatusForbidden, "User: %s is not authorized to perform: %s on resource: %s %s", c.PrincipalARN, action, resource, why)
}
