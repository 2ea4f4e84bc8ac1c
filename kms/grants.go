package kms

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"strings"

	"github.com/keyraft/keyraft/arn"
	"github.com/keyraft/keyraft/fsm"
	"github.com/keyraft/keyraft/fsm/fsmpb"
	"github.com/keyraft/keyraft/internal/awserr"
	"github.com/keyraft/keyraft/policy"
)

// Grants add permissions on one key for one grantee until they are retired
// or revoked. They are committed through Raft and read on the leader, so a
// grant is usable as soon as CreateGrant answers; grant tokens are still
// accepted (and checked for form) for clients written against AWS's
// eventual consistency.

var grantOperations = []string{
	"Decrypt", "Encrypt", "GenerateDataKey", "GenerateDataKeyWithoutPlaintext", "ReEncryptFrom", "ReEncryptTo",
	"Sign", "Verify", "GetPublicKey", "CreateGrant", "RetireGrant", "DescribeKey", "GenerateDataKeyPair",
	"GenerateDataKeyPairWithoutPlaintext", "GenerateMac", "VerifyMac", "DeriveSharedSecret",
	"Encapsulate", "Decapsulate",
}

// contextOperations are the grant operations that take an encryption
// context; AWS refuses context constraints on a grant with any other.
var contextOperations = map[string]bool{
	"Decrypt": true, "Encrypt": true, "GenerateDataKey": true, "GenerateDataKeyWithoutPlaintext": true,
	"ReEncryptFrom": true, "ReEncryptTo": true, "GenerateDataKeyPair": true,
	"GenerateDataKeyPairWithoutPlaintext": true, "RetireGrant": true, "CreateGrant": true,
}

var grantNamePattern = regexp.MustCompile(`^[a-zA-Z0-9:/_-]+$`)

type grantConstraints struct {
	EncryptionContextEquals map[string]string `json:",omitempty"`
	EncryptionContextSubset map[string]string `json:",omitempty"`
}

type createGrantRequest struct {
	KeyId             string
	GranteePrincipal  *string
	RetiringPrincipal *string
	Operations        []string
	Constraints       *grantConstraints
	GrantTokens       []string
	Name              *string
	DryRun            bool
}

// checkGrantTokens applies AWS's limits: at most 10 tokens of 1–8192
// characters; a token this cluster did not issue is refused.
func checkGrantTokens(tokens []string) *awserr.Error {
	if len(tokens) > 10 {
		return validation("grantTokens", "Member must have length less than or equal to 10")
	}
	for _, t := range tokens {
		if e := checkLen("grantTokens", t, 1, 8192); e != nil {
			return e
		}
		if _, ok := grantIDOfToken(t); !ok {
			return awserr.New("InvalidGrantTokenException", http.StatusBadRequest, "The grant token is not valid.")
		}
	}
	return nil
}

// A grant token is base64url("kr1." + grant id + "." + 16 random bytes hex).
func newGrantToken(grantID string) (string, error) {
	var nonce [16]byte
	if _, err := rand.Read(nonce[:]); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString([]byte("kr1." + grantID + "." + hex.EncodeToString(nonce[:]))), nil
}

func grantIDOfToken(t string) (string, bool) {
	raw, err := base64.RawURLEncoding.DecodeString(t)
	if err != nil {
		return "", false
	}
	parts := strings.Split(string(raw), ".")
	if len(parts) != 3 || parts[0] != "kr1" || len(parts[1]) != 64 {
		return "", false
	}
	return parts[1], true
}

// grantAllows reports whether a grant lets the caller perform operation on
// the key with this encryption context. It reads the caller's grants on
// the key alone (fsm.Query.AnyGrant), whatever the number of grants.
func (s *Service) grantAllows(c Caller, keyID, operation string, encCtx map[string]string) bool {
	return s.State.AnyGrant(keyID, c.PrincipalARN, func(g fsm.Grant) bool {
		return s.isGrantee(c, g) && slices.Contains(g.Operations, operation) && constraintsHold(g, encCtx)
	})
}

func constraintsHold(g fsm.Grant, encCtx map[string]string) bool {
	if len(g.ContextEquals) > 0 && !maps.Equal(g.ContextEquals, encCtx) {
		return false
	}
	for k, v := range g.ContextSubset {
		if got, ok := encCtx[k]; !ok || got != v {
			return false
		}
	}
	return true
}

func (s *Service) CreateGrant(ctx context.Context, call Call, req *createGrantRequest) (any, *awserr.Error) {
	id, e := s.keyIDOf("keyId", req.KeyId)
	if e != nil {
		return nil, e
	}
	if e := req.validate(); e != nil {
		return nil, e
	}
	k, ok := s.State.Key(id)
	if !ok {
		return nil, notFound("Key '%s' does not exist", s.arn(id))
	}
	if e := grantOperationsFit(k, req.Operations); e != nil {
		return nil, e
	}
	var encCtx map[string]string
	if req.Constraints != nil {
		encCtx = req.Constraints.EncryptionContextEquals
		if encCtx == nil {
			encCtx = req.Constraints.EncryptionContextSubset
		}
	}
	if e := s.authorizeCreateGrant(call, k, req, encCtx); e != nil {
		return nil, e
	}
	// The principals are resolved to the users they name now, before a
	// dry run answers: one naming no user fails a dry run too.
	granteeID, e := s.principalID("GranteePrincipal", *req.GranteePrincipal)
	if e != nil {
		return nil, e
	}
	var retiringID string
	if req.RetiringPrincipal != nil {
		if retiringID, e = s.principalID("RetiringPrincipal", *req.RetiringPrincipal); e != nil {
			return nil, e
		}
	}
	if req.DryRun {
		return nil, dryRunSucceeded()
	}
	g := fsm.Grant{
		KeyID: id, GranteePrincipal: *req.GranteePrincipal, Operations: slices.Sorted(slices.Values(req.Operations)),
		IssuingAccount: arn.Root(s.Account), CreationDate: s.now(),
	}
	g.Operations = slices.Compact(g.Operations)
	if req.RetiringPrincipal != nil {
		g.RetiringPrincipal = *req.RetiringPrincipal
	}
	g.GranteePrincipalID, g.RetiringPrincipalID = granteeID, retiringID
	if req.Name != nil {
		g.Name = *req.Name
		// AWS: the same parameters under the same name return the existing grant.
		same := s.State.KeyGrants(id, g.GranteePrincipal, func(o fsm.Grant) bool { return sameGrant(o, g, req.Constraints) }, "", 1)
		if len(same.Grants) > 0 {
			return map[string]any{"GrantId": same.Grants[0].GrantID, "GrantToken": same.Grants[0].Token}, nil
		}
	}
	if req.Constraints != nil {
		g.ContextEquals, g.ContextSubset = req.Constraints.EncryptionContextEquals, req.Constraints.EncryptionContextSubset
	}
	var idBytes [32]byte
	if _, err := rand.Read(idBytes[:]); err != nil {
		return nil, Internal("could not generate a grant id")
	}
	g.GrantID = hex.EncodeToString(idBytes[:])
	tok, err := newGrantToken(g.GrantID)
	if err != nil {
		return nil, Internal("could not generate a grant token")
	}
	g.Token = tok
	answer := map[string]any{"GrantId": g.GrantID, "GrantToken": g.Token}
	if e := s.commitAnswer(ctx, call, fsm.CmdCreateGrant, fsm.CreateGrantCommand(g), s.now(), answer); e != nil {
		return nil, e
	}
	return answer, nil
}

func sameGrant(o, g fsm.Grant, c *grantConstraints) bool {
	var eq, sub map[string]string
	if c != nil {
		eq, sub = c.EncryptionContextEquals, c.EncryptionContextSubset
	}
	return o.KeyID == g.KeyID && o.Name == g.Name && o.GranteePrincipal == g.GranteePrincipal &&
		o.GranteePrincipalID == g.GranteePrincipalID && o.RetiringPrincipalID == g.RetiringPrincipalID &&
		o.RetiringPrincipal == g.RetiringPrincipal && slices.Equal(o.Operations, g.Operations) &&
		maps.Equal(o.ContextEquals, eq) && maps.Equal(o.ContextSubset, sub)
}

func (r *createGrantRequest) validate() *awserr.Error {
	if r.GranteePrincipal == nil {
		return validation("granteePrincipal", "Member must not be null")
	}
	if e := checkLen("granteePrincipal", *r.GranteePrincipal, 1, 256); e != nil {
		return e
	}
	if r.RetiringPrincipal != nil {
		if e := checkLen("retiringPrincipal", *r.RetiringPrincipal, 1, 256); e != nil {
			return e
		}
	}
	if len(r.Operations) == 0 {
		return validation("operations", "Member must not be null")
	}
	for _, op := range r.Operations {
		if !slices.Contains(grantOperations, op) {
			return validation("operations", "Member must satisfy constraint: [Member must satisfy enum value set: ["+strings.Join(grantOperations, ", ")+"]]")
		}
	}
	if r.Name != nil {
		if e := checkLen("name", *r.Name, 1, 256); e != nil {
			return e
		}
		if !grantNamePattern.MatchString(*r.Name) {
			return validation("name", "Member must satisfy regular expression pattern: ^[a-zA-Z0-9:/_-]+$")
		}
	}
	if c := r.Constraints; c != nil {
		if c.EncryptionContextEquals != nil && c.EncryptionContextSubset != nil {
			return validation("constraints", "EncryptionContextEquals and EncryptionContextSubset cannot both be specified")
		}
		if len(c.EncryptionContextEquals)+len(c.EncryptionContextSubset) > 0 {
			for _, op := range r.Operations {
				if !contextOperations[op] {
					return validation("constraints", "Grant constraints are not allowed with the operation "+op)
				}
			}
		}
		if e := checkContext(c.EncryptionContextEquals); e != nil {
			return e
		}
		if e := checkContext(c.EncryptionContextSubset); e != nil {
			return e
		}
	}
	return checkGrantTokens(r.GrantTokens)
}

type listGrantsRequest struct {
	KeyId            string
	Limit            *int32
	Marker           *string
	GrantId          *string
	GranteePrincipal *string
}

func (s *Service) ListGrants(ctx context.Context, call Call, req *listGrantsRequest) (any, *awserr.Error) {
	id, e := s.keyIDOf("keyId", req.KeyId)
	if e != nil {
		return nil, e
	}
	k, e := s.readKey(id)
	if e != nil {
		return nil, e
	}
	if e := s.authorize(call, k, nil, nil); e != nil {
		return nil, e
	}
	var grantee string
	if req.GranteePrincipal != nil {
		if *req.GranteePrincipal == "" {
			return s.grantPage(req.Limit, req.Marker, nil)
		}
		grantee = *req.GranteePrincipal
	}
	var match func(fsm.Grant) bool
	if req.GrantId != nil {
		match = func(g fsm.Grant) bool { return g.GrantID == *req.GrantId }
	}
	return s.grantPage(req.Limit, req.Marker, func(after string, limit int) fsm.GrantPage {
		return s.State.KeyGrants(id, grantee, match, after, limit)
	})
}

type listRetirableGrantsRequest struct {
	RetiringPrincipal *string
	Limit             *int32
	Marker            *string
}

func (s *Service) ListRetirableGrants(ctx context.Context, call Call, req *listRetirableGrantsRequest) (any, *awserr.Error) {
	if req.RetiringPrincipal == nil {
		return nil, validation("retiringPrincipal", "Member must not be null")
	}
	if e := s.authorizeAccount(call); e != nil {
		return nil, e
	}
	return s.grantPage(req.Limit, req.Marker, func(after string, limit int) fsm.GrantPage {
		return s.State.RetirableGrants(*req.RetiringPrincipal, after, limit)
	})
}

// grantPage answers the page read returns (nil: no grant) after the marker.
func (s *Service) grantPage(limit *int32, marker *string, read func(after string, limit int) fsm.GrantPage) (any, *awserr.Error) {
	n, e := pageLimit(limit, 50, 100)
	if e != nil {
		return nil, e
	}
	if e := checkMarker(marker); e != nil {
		return nil, e
	}
	var p fsm.GrantPage
	if read != nil {
		after := ""
		if marker != nil {
			after = *marker
		}
		p = read(after, n)
	}
	out := make([]map[string]any, 0, len(p.Grants))
	for _, g := range p.Grants {
		out = append(out, s.grantEntry(g))
	}
	res := map[string]any{"Grants": out, "Truncated": p.Truncated}
	if p.Truncated && len(p.Grants) > 0 {
		res["NextMarker"] = p.Grants[len(p.Grants)-1].GrantID
	}
	return res, nil
}

func (s *Service) grantEntry(g fsm.Grant) map[string]any {
	m := map[string]any{
		"KeyId": s.arn(g.KeyID), "GrantId": g.GrantID, "CreationDate": epochOf(g.CreationDate),
		"GranteePrincipal": g.GranteePrincipal, "IssuingAccount": g.IssuingAccount, "Operations": g.Operations,
	}
	if g.Name != "" {
		m["Name"] = g.Name
	}
	if g.RetiringPrincipal != "" {
		m["RetiringPrincipal"] = g.RetiringPrincipal
	}
	if len(g.ContextEquals)+len(g.ContextSubset) > 0 {
		m["Constraints"] = grantConstraints{EncryptionContextEquals: g.ContextEquals, EncryptionContextSubset: g.ContextSubset}
	}
	return m
}

type retireGrantRequest struct {
	GrantToken *string
	KeyId      *string
	GrantId    *string
	DryRun     bool
}

// retireGrant: the grant's retiring principal, its grantee when the grant
// includes RetireGrant, or the account's root may retire it.
func (s *Service) RetireGrant(ctx context.Context, call Call, req *retireGrantRequest) (any, *awserr.Error) {
	var gid string
	switch {
	case req.GrantToken != nil:
		if e := checkGrantTokens([]string{*req.GrantToken}); e != nil {
			return nil, e
		}
		gid, _ = grantIDOfToken(*req.GrantToken)
	case req.KeyId != nil && req.GrantId != nil:
		gid = *req.GrantId
	default:
		return nil, validation("grantToken", "Either GrantToken, or both KeyId and GrantId, must be specified")
	}
	g, ok := s.State.Grant(gid)
	if !ok || (req.GrantToken != nil && g.Token != *req.GrantToken) {
		return nil, notFound("Grant ID not found")
	}
	if req.KeyId != nil {
		id, e := s.keyIDOf("keyId", *req.KeyId)
		if e != nil {
			return nil, e
		}
		if id != g.KeyID {
			return nil, notFound("Grant ID not found")
		}
	}
	allowed := s.isRoot(call.Caller) || s.isRetiring(call.Caller, g) ||
		(s.isGrantee(call.Caller, g) && slices.Contains(g.Operations, "RetireGrant"))
	if !allowed {
		return nil, accessDenied(call, "kms:RetireGrant", s.arn(g.KeyID), policy.Decision{})
	}
	if req.DryRun {
		return nil, dryRunSucceeded()
	}
	return nil, s.commit(ctx, call, fsm.CmdRemoveGrant, &fsmpb.RemoveGrant{KeyId: g.KeyID, GrantId: g.GrantID}, s.now())
}

type revokeGrantRequest struct {
	KeyId   string
	GrantId *string
	DryRun  bool
}

func (s *Service) RevokeGrant(ctx context.Context, call Call, req *revokeGrantRequest) (any, *awserr.Error) {
	id, e := s.keyIDOf("keyId", req.KeyId)
	if e != nil {
		return nil, e
	}
	if req.GrantId == nil {
		return nil, validation("grantId", "Member must not be null")
	}
	if e := s.authorizeKeyID(call, id); e != nil {
		return nil, e
	}
	if req.DryRun {
		return nil, dryRunSucceeded()
	}
	return nil, s.commit(ctx, call, fsm.CmdRemoveGrant, &fsmpb.RemoveGrant{KeyId: id, GrantId: *req.GrantId}, s.now())
}

func dryRunSucceeded() *awserr.Error {
	return awserr.New("DryRunOperationException", http.StatusPreconditionFailed, "The request would have succeeded, but the DryRun option is set.")
}
