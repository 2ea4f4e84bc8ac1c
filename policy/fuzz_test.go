package policy

import (
	"encoding/json"
	"errors"
	"testing"
)

// The seed corpora are in testdata/fuzz/FuzzParse and testdata/fuzz/FuzzEvaluate.

// FuzzParse: no document makes the parser panic, every refusal is a
// *MalformedError with a reason, and an accepted policy can be evaluated.
func FuzzParse(f *testing.F) {
	f.Fuzz(func(t *testing.T, doc []byte) {
		for _, parse := range []func([]byte) (*Policy, error){Parse, ParseIdentity} {
			p, err := parse(doc)
			if err != nil {
				var me *MalformedError
				if !errors.As(err, &me) || me.Reason == "" || p != nil {
					t.Fatalf("refusal %T %v with policy %v", err, err, p)
				}
				_ = me.Error()
				continue
			}
			_ = p.Principals()
			_ = p.Evaluate(Request{PrincipalARN: alice, Action: "kms:Encrypt", Resource: keyARN, EncryptionContext: ec("a", "b")})
			_ = LockoutCheck(p, alice, acct)
		}
	})
}

// FuzzEvaluate: evaluation never panics, and a policy that allows nothing
// never allows. Every accepted document is also turned into such a policy
// by making each statement a Deny: that must never allow, and must deny
// wherever the original allowed (the same statement matches). Since random
// bytes are rarely a valid policy, a second policy is built from the fuzzed
// strings (operator chosen by shape), so conditions meet arbitrary values.
func FuzzEvaluate(f *testing.F) {
	f.Fuzz(func(t *testing.T, doc []byte, principal, action, resource, ctxKey, ctxVal string, secure bool, shape uint8) {
		r := Request{PrincipalARN: principal, Action: action, Resource: resource, SecureTransport: secure}
		if ctxKey != "" {
			r.EncryptionContext = map[string]string{ctxKey: ctxVal, "Fixed": "v"}
		}
		kp, kerr := Parse(doc)
		ip, ierr := ParseIdentity(doc)
		built, _ := Parse(buildPolicy(shape, action, resource, ctxKey, ctxVal))
		for _, p := range []*Policy{kp, ip, built} {
			if p == nil {
				continue
			}
			eff := p.Evaluate(r)
			d := Decide(p, nil, r)
			if p.kind == IdentityPolicy {
				d = Decide(nil, []*Policy{p}, r)
			}
			if g := d.WithGrant(); d.Basis == ExplicitDeny && g.Allowed {
				t.Fatal("a grant overrode an explicit deny")
			}
			if p.kind == KeyPolicy && d.Basis == KeyPolicyAllow && eff != Allow {
				t.Fatalf("Decide allowed by key policy, Evaluate says %v", eff)
			}
			deny := denyOnly(p)
			if allDeny(p) {
				if eff == Allow || (p.kind == KeyPolicy && d.Allowed) {
					t.Fatalf("deny-only policy allowed: %v %+v", eff, d)
				}
			}
			if e := deny.Evaluate(r); e == Allow || (eff == Allow && e != Deny) {
				t.Fatalf("deny-only copy: %v (original %v)", e, eff)
			}
			if p.kind == KeyPolicy {
				if d := Decide(deny, nil, r); d.Allowed {
					t.Fatalf("deny-only key policy allowed: %+v", d)
				}
			} else if d := Decide(nil, []*Policy{deny}, r); d.Allowed && d.Basis != AccountRootAllow {
				t.Fatalf("deny-only identity policy allowed: %+v", d)
			}
		}
		if kerr == nil && ierr == nil {
			t.Fatal("a document was both a key policy and an identity policy")
		}
	})
}

var fuzzOperators = []string{
	"StringEquals", "StringNotEquals", "StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase", "StringLike", "StringNotLike",
	"ArnEquals", "ArnNotEquals", "ArnLike", "ArnNotLike", "Bool", "Null",
}

var fuzzKeys = []string{"kms:EncryptionContext:", "kms:EncryptionContextKeys", "kms:CallerAccount", "aws:PrincipalArn", "aws:SecureTransport", "aws:PrincipalAccount",
	"kms:KeySpec", "kms:KeyUsage", "kms:KeyOrigin", "kms:SigningAlgorithm", "kms:MessageType", "kms:MacAlgorithm", "kms:EncryptionAlgorithm"}

// buildPolicy makes a one-statement key policy (Allow or Deny by shape's low
// bit) for any principal, using action and resource as patterns and a
// condition whose operator, set prefix, IfExists suffix and key come from
// shape and whose value is the request's own context key or value.
func buildPolicy(shape uint8, action, resource, ctxKey, ctxVal string) []byte {
	effect := "Allow"
	if shape&1 == 1 {
		effect = "Deny"
	}
	op := fuzzOperators[int(shape>>1)%len(fuzzOperators)]
	switch shape >> 5 & 3 {
	case 1:
		op = "ForAllValues:" + op
	case 2:
		op = "ForAnyValue:" + op
	}
	if shape&0x80 != 0 {
		op += "IfExists"
	}
	key := fuzzKeys[int(shape>>1)%len(fuzzKeys)]
	val := ctxVal
	if key == "kms:EncryptionContext:" {
		key += ctxKey
	} else if shape&2 == 0 {
		val = ctxKey
	}
	stmt := map[string]any{
		"Effect": effect, "Principal": "*", "Action": action, "Resource": resource,
		"Condition": map[string]any{op: map[string]any{key: val}},
	}
	b, _ := json.Marshal(map[string]any{"Version": "2012-10-17", "Statement": stmt})
	return b
}

func allDeny(p *Policy) bool {
	for _, s := range p.stmts {
		if s.effect != Deny {
			return false
		}
	}
	return true
}

func denyOnly(p *Policy) *Policy {
	q := *p
	q.stmts = append([]statement(nil), p.stmts...)
	for i := range q.stmts {
		q.stmts[i].effect = Deny
	}
	return &q
}
