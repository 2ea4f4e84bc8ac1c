package kms

import (
	"context"
	"net/http"

	"github.com/keyraft/keyraft/fsm"
	"github.com/keyraft/keyraft/fsm/fsmpb"
	"github.com/keyraft/keyraft/internal/awserr"
	"github.com/keyraft/keyraft/policy"
)

// A key has one policy, named "default", as in AWS.
const defaultPolicyName = "default"

// checkKeyPolicy parses a new key policy and, unless bypassed, runs AWS's
// lockout safety check for the caller.
func (s *Service) checkKeyPolicy(call Call, doc string, bypass bool) *awserr.Error {
	if e := checkLen("policy", doc, 1, policy.MaxSize); e != nil {
		return e
	}
	p, err := policy.Parse([]byte(doc))
	if err != nil {
		return awserr.New("MalformedPolicyDocumentException", http.StatusBadRequest, "%s", err.Error())
	}
	if bypass {
		return nil
	}
	if err := policy.LockoutCheck(p, call.Caller.PrincipalARN, s.Account); err != nil {
		return awserr.New("MalformedPolicyDocumentException", http.StatusBadRequest, "%s", err.Error())
	}
	return nil
}

func checkPolicyName(name *string) *awserr.Error {
	if name == nil {
		return nil
	}
	if e := checkLen("policyName", *name, 1, 128); e != nil {
		return e
	}
	if *name != defaultPolicyName {
		return notFound("No such policy exists")
	}
	return nil
}

type putKeyPolicyRequest struct {
	KeyId                          string
	PolicyName                     *string
	Policy                         *string
	BypassPolicyLockoutSafetyCheck bool
}

func (s *Service) PutKeyPolicy(ctx context.Context, call Call, req *putKeyPolicyRequest) (any, *awserr.Error) {
	id, e := s.keyIDOf("keyId", req.KeyId)
	if e != nil {
		return nil, e
	}
	if req.Policy == nil {
		return nil, validation("policy", "Member must not be null")
	}
	if e := checkPolicyName(req.PolicyName); e != nil {
		return nil, e
	}
	if e := s.authorizeKeyID(call, id); e != nil {
		return nil, e
	}
	if e := s.checkKeyPolicy(call, *req.Policy, req.BypassPolicyLockoutSafetyCheck); e != nil {
		return nil, e
	}
	return nil, s.commit(ctx, call, fsm.CmdPutKeyPolicy, &fsmpb.PutKeyPolicy{KeyId: id, Policy: *req.Policy}, s.now())
}

type getKeyPolicyRequest struct {
	KeyId      string
	PolicyName *string
}

func (s *Service) GetKeyPolicy(ctx context.Context, call Call, req *getKeyPolicyRequest) (any, *awserr.Error) {
	id, e := s.keyIDOf("keyId", req.KeyId)
	if e != nil {
		return nil, e
	}
	if e := checkPolicyName(req.PolicyName); e != nil {
		return nil, e
	}
	k, e := s.readKey(id)
	if e != nil {
		return nil, e
	}
	if e := s.authorize(call, k, nil, nil); e != nil {
		return nil, e
	}
	doc := k.Policy
	if doc == "" {
		doc = string(policy.DefaultKeyPolicy(s.Account))
	}
	return map[string]any{"Policy": doc, "PolicyName": defaultPolicyName}, nil
}

type listKeyPoliciesRequest struct {
	KeyId  string
	Limit  *int32
	Marker *string
}

func (s *Service) ListKeyPolicies(ctx context.Context, call Call, req *listKeyPoliciesRequest) (any, *awserr.Error) {
	id, e := s.keyIDOf("keyId", req.KeyId)
	if e != nil {
		return nil, e
	}
	if _, e := pageLimit(req.Limit, 100, 1000); e != nil {
		return nil, e
	}
	if e := checkMarker(req.Marker); e != nil {
		return nil, e
	}
	k, e := s.readKey(id)
	if e != nil {
		return nil, e
	}
	if e := s.authorize(call, k, nil, nil); e != nil {
		return nil, e
	}
	names := []string{defaultPolicyName}
	if req.Marker != nil {
		names = []string{} // the one page has been served
	}
	return map[string]any{"PolicyNames": names, "Truncated": false}, nil
}
