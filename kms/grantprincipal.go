package kms

import (
	"net/http"
	"strings"

	"github.com/keyraft/keyraft/arn"
	"github.com/keyraft/keyraft/fsm"
	"github.com/keyraft/keyraft/internal/awserr"
)

// A grant names its principals by ARN, but an ARN names a user only until
// the user is deleted: a user re-created under the same name must not
// inherit the grants of the one deleted (AWS binds a grant to the user's
// unique id, AIDA..., and shows the id once the user is gone). So
// CreateGrant records the unique id of each principal that is a user of
// this account, and authorization compares it with the caller's. ListGrants
// still shows the ARNs.

// principalID is the unique id of the user principal names, "" when
// principal is not a user of this account (the root, another account, a
// service), which grants keep matching by ARN. A user ARN of this account
// that names no user is refused, as AWS refuses a principal that does not
// exist (InvalidArnException).
func (s *Service) principalID(member, principal string) (string, *awserr.Error) {
	a, ok := arn.Parse(principal)
	if !ok || a.Service != "iam" || a.Account != s.Account || !strings.HasPrefix(a.Resource, "user/") {
		return "", nil
	}
	name := strings.TrimPrefix(a.Resource, "user/")
	if u, ok := s.State.User(name); ok && u.ARN == principal && u.UserID != "" {
		return u.UserID, nil
	}
	return "", awserr.New("InvalidArnException", http.StatusBadRequest,
		"%s %s is not a valid principal: no such user", member, principal)
}

// isPrincipal reports whether the caller is a principal a grant names:
// the same ARN and, for a user, the same user. A grant made before grants
// recorded ids (id "") is held by a user only if the user is not younger
// than the grant.
func (s *Service) isPrincipal(c Caller, principal, id string, g fsm.Grant) bool {
	if principal == "" || principal != c.PrincipalARN {
		return false
	}
	if c.UserName == "" {
		return true
	}
	if id != "" {
		return id == c.UserID
	}
	u, ok := s.State.User(c.UserName)
	return ok && u.UserID == c.UserID && !u.CreateDate.After(g.CreationDate)
}

// isGrantee and isRetiring are isPrincipal for a grant's two principals.
func (s *Service) isGrantee(c Caller, g fsm.Grant) bool {
	return s.isPrincipal(c, g.GranteePrincipal, g.GranteePrincipalID, g)
}

func (s *Service) isRetiring(c Caller, g fsm.Grant) bool {
	return s.isPrincipal(c, g.RetiringPrincipal, g.RetiringPrincipalID, g)
}
