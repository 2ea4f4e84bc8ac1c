package policy

import (
	"fmt"
	"strings"

	"github.com/keyraft/keyraft/arn"
)

// Effect is what a policy says about a request.
type Effect uint8

const (
	// NotApplicable: no statement matched (an implicit deny if nothing else allows).
	NotApplicable Effect = iota
	// Allow: a matching Allow statement and no matching Deny.
	Allow
	// Deny: a matching Deny statement, which nothing overrides.
	Deny
)

func (e Effect) String() string {
	switch e {
	case NotApplicable:
		return "NotApplicable"
	case Allow:
		return "Allow"
	case Deny:
		return "Deny"
	}
	return fmt.Sprintf("Effect(%d)", uint8(e))
}

// Request is the authorization context of one KMS call.
type Request struct {
	PrincipalARN  string // the authenticated caller, e.g. arn:aws:iam::111122223333:user/alice
	CallerAccount string // the caller's account id; taken from PrincipalARN when empty
	Action        string // e.g. "kms:Encrypt"
	// Resource is the ARN of the key the call acts on, or "*" (or empty) for
	// the account-level operations (CreateKey, ListKeys, ListAliases, ...),
	// which AWS authorizes against Resource "*".
	Resource          string
	EncryptionContext map[string]string
	SecureTransport   bool // the call came over TLS (aws:SecureTransport)

	// The KMS condition keys of the key and the request (AWS's "Condition
	// keys for AWS KMS"); "" is a key the request does not carry.
	// KeySpec, KeyUsage and KeyOrigin are the key's own for an operation on
	// a key and the requested ones for CreateKey.
	KeySpec, KeyUsage, KeyOrigin string
	Algorithms

	// unknownKey: LockoutCheck asks about the key a new policy will be
	// attached to, whose ARN it does not know.
	unknownKey bool
}

// Algorithms are the request's algorithm condition keys: each is carried
// only by the operations that name it (kms:SigningAlgorithm and
// kms:MessageType by Sign and Verify, kms:MacAlgorithm by GenerateMac and
// VerifyMac, kms:EncryptionAlgorithm by the encryption and data key
// operations).
type Algorithms struct {
	Signing, MessageType, Mac, Encryption string
	// The import condition keys: kms:WrappingAlgorithm and
	// kms:WrappingKeySpec by GetParametersForImport, kms:ExpirationModel
	// and kms:ValidTo (Unix seconds, for the Numeric operators) by
	// ImportKeyMaterial.
	WrappingAlgorithm, WrappingKeySpec, ExpirationModel, ValidTo string
}

func principalAccount(req *Request) string {
	if req.CallerAccount != "" {
		return req.CallerAccount
	}
	return arn.Account(req.PrincipalARN)
}

// callerRoot reports whether the caller is its own account's root principal.
func callerRoot(req *Request) bool {
	a := arn.RootAccount(req.PrincipalARN)
	return a != "" && a == principalAccount(req)
}

// Evaluate says what p alone says about req: Deny if a Deny statement
// matches, else Allow if an Allow statement matches, else NotApplicable.
// In a key policy an Allow whose principal is an account (its root ARN or
// id) allows only that account's root principal; for the account's other
// principals it only delegates to their identity policies, which Decide
// weighs. A nil policy is NotApplicable.
func (p *Policy) Evaluate(req Request) Effect {
	o := p.evaluate(&req)
	switch {
	case o.deny:
		return Deny
	case o.allow:
		return Allow
	}
	return NotApplicable
}

// outcome collects every statement's verdict, with the Sid of the first
// statement of each kind for the audit trail.
type outcome struct {
	deny, allow, delegate          bool
	denySid, allowSid, delegateSid string
}

func (p *Policy) evaluate(req *Request) outcome {
	var o outcome
	if p == nil {
		return o
	}
	for i := range p.stmts {
		s := &p.stmts[i]
		pm := s.principalMatch(req, p.kind)
		if pm == pmNone || !s.actionMatches(req) || !s.resourceMatches(req) || !s.conditionsHold(req) {
			continue
		}
		switch {
		case s.effect == Deny:
			if !o.deny {
				o.deny, o.denySid = true, s.sid
			}
		case pm == pmDirect:
			if !o.allow {
				o.allow, o.allowSid = true, s.sid
			}
		default:
			if !o.delegate {
				o.delegate, o.delegateSid = true, s.sid
			}
		}
	}
	return o
}

type principalMatch uint8

const (
	pmNone    principalMatch = iota
	pmAccount                // the statement names the caller's account: delegation
	pmDirect                 // the statement names the caller, or "*"
)

func (s *statement) principalMatch(req *Request, kind Kind) principalMatch {
	if kind == IdentityPolicy || s.anyPrincipal {
		return pmDirect
	}
	acct := principalAccount(req)
	isRoot := callerRoot(req)
	best := pmNone
	for _, p := range s.principals {
		if p == req.PrincipalARN {
			return pmDirect
		}
		if a := arn.RootAccount(p); a != "" && a == acct {
			if isRoot {
				return pmDirect
			}
			best = pmAccount
		}
	}
	return best
}

func (s *statement) actionMatches(req *Request) bool {
	in := false
	for _, a := range s.actions {
		if actionMatches(a, req.Action) {
			in = true
			break
		}
	}
	return in != s.notAction
}

func (s *statement) resourceMatches(req *Request) bool {
	res := req.Resource
	if res == "" {
		res = "*"
	}
	in := false
	for _, r := range s.resources {
		if (req.unknownKey && couldMatchKey(r, principalAccount(req))) || (!req.unknownKey && glob(r, res)) {
			in = true
			break
		}
	}
	return in != s.notResource
}

// couldMatchKey reports whether a Resource pattern could name some KMS key
// of the account, for LockoutCheck, which does not know the key's ARN.
func couldMatchKey(pattern, account string) bool {
	if pattern == "*" {
		return true
	}
	f := strings.SplitN(pattern, ":", 6)
	if len(f) != 6 || !glob(f[2], "kms") || !glob(f[4], account) {
		return false
	}
	return strings.HasPrefix(f[5], "key/") || strings.HasPrefix(f[5], "*") || strings.HasPrefix(f[5], "?")
}

func (s *statement) conditionsHold(req *Request) bool {
	for i := range s.conditions {
		if !s.conditions[i].holds(req) {
			return false
		}
	}
	return true
}
