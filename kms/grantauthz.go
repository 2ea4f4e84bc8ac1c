package kms

import (
	"maps"
	"slices"

	"github.com/keyraft/keyraft/fsm"
	"github.com/keyraft/keyraft/internal/awserr"
)

// A grant that allows CreateGrant lets its grantee pass on what it holds,
// never more (as AWS: "Principals who get permission to create grants from
// a grant are limited in the grants that they can create"). The key policy
// and IAM policies decide CreateGrant as for any operation; when they do
// not allow it, one grant of the caller must cover the new grant whole.

// authorizeCreateGrant authorizes CreateGrant of the grant req describes.
// encCtx is the new grant's constraint, which the policies' encryption
// context conditions see.
func (s *Service) authorizeCreateGrant(call Call, k *fsm.Key, req *createGrantRequest, encCtx map[string]string) *awserr.Error {
	var eq, sub map[string]string
	if req.Constraints != nil {
		eq, sub = req.Constraints.EncryptionContextEquals, req.Constraints.EncryptionContextSubset
	}
	return s.decide(call, "kms:CreateGrant", k, encCtx, req.GrantTokens, func(c Caller) bool {
		return s.State.AnyGrant(k.KeyID, c.PrincipalARN, func(parent fsm.Grant) bool {
			return grantCovers(parent, req.Operations, eq, sub)
		})
	})
}

// grantCovers reports whether parent may issue a grant of operations ops
// with constraints eq (EncryptionContextEquals) or sub
// (EncryptionContextSubset): parent allows CreateGrant and every one of
// ops, and the new constraints are at least as strict as parent's. An
// empty map is no constraint, as AWS reads it.
func grantCovers(parent fsm.Grant, ops []string, eq, sub map[string]string) bool {
	if !slices.Contains(parent.Operations, "CreateGrant") {
		return false
	}
	for _, op := range ops {
		if !slices.Contains(parent.Operations, op) {
			return false
		}
	}
	switch {
	case len(parent.ContextEquals) > 0:
		// Only the same context: no Subset can be as strict as Equals.
		return len(sub) == 0 && maps.Equal(parent.ContextEquals, eq)
	case len(parent.ContextSubset) > 0:
		// Every pair parent requires stays required: a Subset or an Equals
		// that holds all of them.
		narrower := sub
		if len(eq) > 0 {
			narrower = eq
		}
		return includes(narrower, parent.ContextSubset)
	}
	return true
}

// includes reports whether m holds every pair of pairs.
func includes(m, pairs map[string]string) bool {
	for k, v := range pairs {
		if got, ok := m[k]; !ok || got != v {
			return false
		}
	}
	return true
}
