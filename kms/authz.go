package kms

import (
	"net/http"

	"github.com/keyraft/keyraft/arn"
	"github.com/keyraft/keyraft/audit"
	"github.com/keyraft/keyraft/fsm"
	"github.com/keyraft/keyraft/internal/awserr"
	"github.com/keyraft/keyraft/policy"
)

// Caller is the principal that signed a request, as SigV4 identified it.
type Caller struct {
	AccessKeyID  string
	PrincipalARN string // arn:aws:iam::ACCOUNT:root or arn:aws:iam::ACCOUNT:user/NAME
	UserName     string // "" for the account's root principal
	// UserID is the unique id (AIDA...) of the user UserName names now; a
	// grant made for an earlier user of the same name holds another.
	UserID string
	// SecureTransport is aws:SecureTransport: the client reached keyraft
	// over TLS (directly, or through a follower that forwarded the call).
	SecureTransport bool
}

// Call is one request as the gateway hands it to an operation: who signed
// it and which operation it named, which every authorization check reads,
// and the audit Recorder through which a write carries the request's event
// (nil when the request's event is committed on its own).
type Call struct {
	Caller   Caller
	Op       string
	Recorder *audit.Recorder
}

// accessDenied words a refusal as AWS does.
func accessDenied(c Call, action, resource string, d policy.Decision) *awserr.Error {
	why := "because no resource-based policy allows the " + action + " action"
	if d.Basis == policy.ExplicitDeny {
		why = "with an explicit deny in a resource-based or identity-based policy"
	}
	if resource == "" || resource == "*" {
		why = "because no identity-based policy allows the " + action + " action"
		if d.Basis == policy.ExplicitDeny {
			why = "with an explicit deny in an identity-based policy"
		}
		return awserr.New("AccessDeniedException", http.StatusBadRequest,
			"User: %s is not authorized to perform: %s %s", c.Caller.PrincipalARN, action, why)
	}
	return awserr.New("AccessDeniedException", http.StatusBadRequest,
		"User: %s is not authorized to perform: %s on resource: %s %s", c.Caller.PrincipalARN, action, resource, why)
}

// identityPolicies returns the caller's IAM policies (none for the root).
func (s *Service) identityPolicies(c Caller) ([]*policy.Policy, *awserr.Error) {
	ps, err := s.policies.Identities(s.State.UserPolicyDocuments(c.UserName))
	if err != nil {
		return nil, Internal("a stored identity policy could not be parsed")
	}
	return ps, nil
}

// keyPolicy returns a key's policy, AWS's default when it has none.
func (s *Service) keyPolicy(k *fsm.Key) (*policy.Policy, *awserr.Error) {
	doc := k.Policy
	if doc == "" {
		doc = string(policy.DefaultKeyPolicy(s.Account))
	}
	p, err := s.policies.Key(doc)
	if err != nil {
		return nil, Internal("a stored key policy could not be parsed")
	}
	return p, nil
}

// authorize decides whether the caller may perform the request's operation
// on key k: key policy, the caller's identity policies, then grants. It runs
// before any cryptography and before anything is proposed.
func (s *Service) authorize(call Call, k *fsm.Key, encCtx map[string]string, grantTokens []string) *awserr.Error {
	return s.authorizeAction(call, "kms:"+call.Op, grantOp(call.Op), k, encCtx, grantTokens)
}

// authorizeAction is authorize for an action other than the operation's
// own name (ReEncrypt checks kms:ReEncryptFrom and kms:ReEncryptTo).
func (s *Service) authorizeAction(call Call, action, grantOperation string, k *fsm.Key, encCtx map[string]string, grantTokens []string) *awserr.Error {
	return s.authorizeActionWith(call, action, grantOperation, k, encCtx, grantTokens, policy.Algorithms{})
}

// authorizeWith is authorize for an operation that names an algorithm or
// message type, which the policies' kms:SigningAlgorithm, kms:MessageType,
// kms:MacAlgorithm and kms:EncryptionAlgorithm conditions see.
func (s *Service) authorizeWith(call Call, k *fsm.Key, encCtx map[string]string, grantTokens []string, algs policy.Algorithms) *awserr.Error {
	return s.authorizeActionWith(call, "kms:"+call.Op, grantOp(call.Op), k, encCtx, grantTokens, algs)
}

func (s *Service) authorizeActionWith(call Call, action, grantOperation string, k *fsm.Key, encCtx map[string]string, grantTokens []string, algs policy.Algorithms) *awserr.Error {
	var byGrant func(c Caller) bool
	if grantOperation != "" {
		byGrant = func(c Caller) bool { return s.grantAllows(c, k.KeyID, grantOperation, encCtx) }
	}
	return s.decideWith(call, action, k, encCtx, grantTokens, byGrant, algs)
}

// encryptionActions carry kms:EncryptionAlgorithm. With a symmetric key
// AWS sets it to SYMMETRIC_DEFAULT whether or not the request names it (the
// only algorithm such a key has, and the only one GenerateDataKey* use).
var encryptionActions = map[string]bool{
	"kms:Encrypt": true, "kms:Decrypt": true, "kms:ReEncryptFrom": true, "kms:ReEncryptTo": true,
	"kms:GenerateDataKey": true, "kms:GenerateDataKeyWithoutPlaintext": true,
	"kms:GenerateDataKeyPair": true, "kms:GenerateDataKeyPairWithoutPlaintext": true,
}

// encryptionAlg is the kms:EncryptionAlgorithm a request names, for an
// asymmetric key (decideWith sets SYMMETRIC_DEFAULT for a symmetric one,
// whatever the request says). A request that names none carries none, so a
// policy that requires one refuses it, as AWS's does.
func encryptionAlg(alg *string) policy.Algorithms {
	if alg == nil {
		return policy.Algorithms{}
	}
	return policy.Algorithms{Encryption: *alg}
}

// decide makes the decision of authorizeAction: the key policy and the
// caller's identity policies, then, unless they deny explicitly, byGrant
// (nil when no grant can allow the action).
func (s *Service) decide(c Call, action string, k *fsm.Key, encCtx map[string]string, grantTokens []string, byGrant func(Caller) bool) *awserr.Error {
	return s.decideWith(c, action, k, encCtx, grantTokens, byGrant, policy.Algorithms{})
}

// decideWith is decide with the request's algorithm condition keys; the
// key's kms:KeySpec, kms:KeyUsage and kms:KeyOrigin come from k.
func (s *Service) decideWith(c Call, action string, k *fsm.Key, encCtx map[string]string, grantTokens []string, byGrant func(Caller) bool, algs policy.Algorithms) *awserr.Error {
	if e := checkGrantTokens(grantTokens); e != nil {
		return e
	}
	kp, e := s.keyPolicy(k)
	if e != nil {
		return e
	}
	ids, e := s.identityPolicies(c.Caller)
	if e != nil {
		return e
	}
	resource := s.arn(k.KeyID)
	req := policy.Request{
		PrincipalARN: c.Caller.PrincipalARN, CallerAccount: s.Account, Action: action,
		Resource: resource, EncryptionContext: encCtx, SecureTransport: c.Caller.SecureTransport,
		KeySpec: k.KeySpec, KeyUsage: k.KeyUsage, KeyOrigin: k.Origin, Algorithms: algs,
	}
	if k.KeySpec == specSymmetric && encryptionActions[action] {
		req.Encryption = specSymmetric
	}
	d := policy.Decide(kp, ids, req)
	if !d.Allowed && d.Basis != policy.ExplicitDeny && byGrant != nil && byGrant(c.Caller) {
		d = d.WithGrant()
	}
	if !d.Allowed {
		return accessDenied(c, action, resource, d)
	}
	return nil
}

// authorizeAccount decides an account-level operation (CreateKey, ListKeys,
// ListAliases, GenerateRandom, ListRetirableGrants): IAM alone decides it,
// and the account's root principal may do all of them.
func (s *Service) authorizeAccount(c Call) *awserr.Error {
	return s.authorizeAccountWith(c, policy.Request{})
}

// authorizeAccountWith is authorizeAccount with condition keys the
// operation carries (CreateKey: the requested kms:KeySpec, kms:KeyUsage and
// kms:KeyOrigin).
func (s *Service) authorizeAccountWith(c Call, conds policy.Request) *awserr.Error {
	ids, e := s.identityPolicies(c.Caller)
	if e != nil {
		return e
	}
	action := "kms:" + c.Op
	req := conds
	req.PrincipalARN, req.CallerAccount, req.Action, req.Resource = c.Caller.PrincipalARN, s.Account, action, "*"
	req.SecureTransport = c.Caller.SecureTransport
	d := policy.Decide(nil, ids, req)
	if !d.Allowed {
		return accessDenied(c, action, "*", d)
	}
	return nil
}

// authorizeKeyID is authorize for operations that name a key only by id: a
// key that does not exist is left to the operation's own NotFound.
func (s *Service) authorizeKeyID(call Call, id string) *awserr.Error {
	k, ok := s.State.Key(id)
	if !ok {
		return nil
	}
	return s.authorize(call, k, nil, nil)
}

// grantOp is the grant operation that can allow an API operation; "" for
// operations no grant can allow.
func grantOp(op string) string {
	switch op {
	case "Decrypt", "Encrypt", "GenerateDataKey", "GenerateDataKeyWithoutPlaintext",
		"CreateGrant", "RetireGrant", "DescribeKey", "GenerateDataKeyPair",
		"GenerateDataKeyPairWithoutPlaintext", "Sign", "Verify", "GetPublicKey",
		"GenerateMac", "VerifyMac", "DeriveSharedSecret", "Encapsulate", "Decapsulate":
		return op
	}
	return ""
}

// isRoot reports whether the caller is the account's root principal.
func (s *Service) isRoot(c Caller) bool {
	return c.UserName == "" && c.PrincipalARN == arn.Root(s.Account)
}
