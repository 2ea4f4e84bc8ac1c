package policy

import (
	"fmt"

	"github.com/keyraft/keyraft/arn"
)

// Basis says what made a Decision, for the audit event and the error message.
type Basis uint8

const (
	// ImplicitDeny: nothing allowed the request.
	ImplicitDeny Basis = iota
	// ExplicitDeny: a Deny statement in the key policy or an identity policy matched.
	ExplicitDeny
	// KeyPolicyAllow: the key policy allowed the caller by name (or "*"),
	// or allowed the caller's account and the caller is its root.
	KeyPolicyAllow
	// IdentityPolicyAllow: the key policy delegated to the caller's account
	// and an identity policy of the caller allowed the request (or, with no
	// key involved, an identity policy alone allowed it).
	IdentityPolicyAllow
	// AccountRootAllow: the account's root principal on an account-level
	// operation (no key policy involved), which IAM always allows it.
	AccountRootAllow
	// GrantAllow: nothing denied and a grant allowed; see Decision.WithGrant.
	GrantAllow
)

func (b Basis) String() string {
	switch b {
	case ImplicitDeny:
		return "ImplicitDeny"
	case ExplicitDeny:
		return "ExplicitDeny"
	case KeyPolicyAllow:
		return "KeyPolicyAllow"
	case IdentityPolicyAllow:
		return "IdentityPolicyAllow"
	case AccountRootAllow:
		return "AccountRootAllow"
	case GrantAllow:
		return "GrantAllow"
	}
	return fmt.Sprintf("Basis(%d)", uint8(b))
}

// Decision is the KMS authorization verdict on one request.
type Decision struct {
	Allowed bool
	Basis   Basis
	Sid     string // the deciding statement's Sid, when it has one
}

// WithGrant is the decision once a grant is known to allow the request:
// grants add permissions, they never remove them, and they cannot override
// an explicit Deny. Callers look for a grant only when !d.Allowed, and call
// this only when one allows.
func (d Decision) WithGrant() Decision {
	if d.Allowed || d.Basis == ExplicitDeny {
		return d
	}
	return Decision{Allowed: true, Basis: GrantAllow}
}

// Decide makes the AWS KMS authorization decision for req.
//
// keyPolicy is the policy of the key the request acts on; nil for the
// account-level operations (CreateKey, ListKeys, ...), which identity
// policies alone decide. identityPolicies are those attached to the caller
// (none for the account root).
//
//  1. A matching Deny in the key policy or in any identity policy denies.
//  2. A key policy Allow naming the caller (or "*") allows; so does one naming
//     the caller's account when the caller is that account's root.
//  3. A key policy Allow naming the caller's account (its root ARN or id)
//     delegates to IAM: an identity policy Allow of the caller then allows.
//  4. Across accounts (the key's account, taken from Resource, is not the
//     caller's) both the key policy (by name or account) and the caller's
//     own account (an identity policy, or being its root) must allow.
//  5. Anything else is denied.
func Decide(keyPolicy *Policy, identityPolicies []*Policy, req Request) Decision {
	kp := keyPolicy.evaluate(&req)
	if kp.deny {
		return Decision{Basis: ExplicitDeny, Sid: kp.denySid}
	}
	idAllow, idSid := false, ""
	for _, ip := range identityPolicies {
		o := ip.evaluate(&req)
		if o.deny {
			return Decision{Basis: ExplicitDeny, Sid: o.denySid}
		}
		if o.allow && !idAllow {
			idAllow, idSid = true, o.allowSid
		}
	}
	root := callerRoot(&req)
	if keyPolicy == nil {
		switch {
		case root:
			return Decision{Allowed: true, Basis: AccountRootAllow}
		case idAllow:
			return Decision{Allowed: true, Basis: IdentityPolicyAllow, Sid: idSid}
		}
		return Decision{Basis: ImplicitDeny}
	}
	acct := principalAccount(&req)
	keyAcct := arn.Account(req.Resource)
	if keyAcct == "" || keyAcct == acct {
		switch {
		case kp.allow:
			return Decision{Allowed: true, Basis: KeyPolicyAllow, Sid: kp.allowSid}
		case kp.delegate && idAllow:
			return Decision{Allowed: true, Basis: IdentityPolicyAllow, Sid: idSid}
		}
		return Decision{Basis: ImplicitDeny}
	}
	if (kp.allow || kp.delegate) && (idAllow || root) {
		if kp.allow {
			return Decision{Allowed: true, Basis: KeyPolicyAllow, Sid: kp.allowSid}
		}
		return Decision{Allowed: true, Basis: IdentityPolicyAllow, Sid: idSid}
	}
	return Decision{Basis: ImplicitDeny}
}
