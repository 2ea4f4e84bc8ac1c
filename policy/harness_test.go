package policy

import (
	"errors"
	"strings"
	"testing"

	"github.com/keyraft/keyraft/arn"
)

const (
	acct      = "111122223333"
	otherAcct = "444455556666"
	root      = "arn:aws:iam::111122223333:root"
	alice     = "arn:aws:iam::111122223333:user/alice"
	bob       = "arn:aws:iam::111122223333:user/bob"
	carol     = "arn:aws:iam::444455556666:user/carol" // another account
	otherRoot = "arn:aws:iam::444455556666:root"
	keyARN    = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
	key2ARN   = "arn:aws:kms:us-east-1:111122223333:key/0987dcba-09fe-87dc-65ba-ab0987654321"
)

// doc wraps statements in a 2012-10-17 policy document.
func doc(stmts ...string) string {
	return `{"Version":"2012-10-17","Statement":[` + strings.Join(stmts, ",") + `]}`
}

// allowTo is a key policy statement allowing principal the actions on "*".
func allowTo(principal, actions string) string {
	return `{"Effect":"Allow","Principal":{"AWS":"` + principal + `"},"Action":` + actions + `,"Resource":"*"}`
}

// idAllow is an identity policy statement allowing the actions on "*".
func idAllow(actions string) string {
	return `{"Effect":"Allow","Action":` + actions + `,"Resource":"*"}`
}

// withCond is a key policy statement allowing principal the actions under cond.
func withCond(principal, actions, cond string) string {
	return `{"Effect":"Allow","Principal":{"AWS":"` + principal + `"},"Action":` + actions + `,"Resource":"*","Condition":` + cond + `}`
}

func req(principal, action string, ec map[string]string) Request {
	return Request{PrincipalARN: principal, CallerAccount: arn.Account(principal), Action: action, Resource: keyARN, EncryptionContext: ec}
}

func ec(kv ...string) map[string]string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

// policyCase is one row of TestPolicy: a key policy (empty: none, as for an
// account-level operation) and identity policies that either fail to parse
// with wantReason, or are decided on req.
type policyCase struct {
	name       string
	key        string
	identity   []string
	req        Request
	wantReason string // parse failure expected: the MalformedError's Reason
	wantPart   string // and a substring of its Part
	allowed    bool
	basis      Basis
}

func TestPolicy(t *testing.T) {
	all := append(append([]policyCase{}, parseCases...), decideCases...)
	if len(all) < 60 {
		t.Fatalf("only %d cases", len(all))
	}
	names := map[string]bool{}
	for _, tc := range all {
		if names[tc.name] {
			t.Fatalf("duplicate case name %q", tc.name)
		}
		names[tc.name] = true
		t.Run(tc.name, func(t *testing.T) { runCase(t, tc) })
	}
}

func runCase(t *testing.T, tc policyCase) {
	var kp *Policy
	var ids []*Policy
	var err error
	if tc.key != "" {
		kp, err = Parse([]byte(tc.key))
	}
	for _, d := range tc.identity {
		if err != nil {
			break
		}
		var ip *Policy
		ip, err = ParseIdentity([]byte(d))
		ids = append(ids, ip)
	}
	if tc.wantReason != "" {
		var me *MalformedError
		if !errors.As(err, &me) {
			t.Fatalf("err = %v, want a *MalformedError", err)
		}
		if me.Reason != tc.wantReason || !strings.Contains(me.Part, tc.wantPart) {
			t.Fatalf("err = %q (part %q), want reason %q, part containing %q", me.Error(), me.Part, tc.wantReason, tc.wantPart)
		}
		return
	}
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	d := Decide(kp, ids, tc.req)
	if d.Allowed != tc.allowed || d.Basis != tc.basis {
		t.Fatalf("Decide = %+v, want allowed=%v basis=%v", d, tc.allowed, tc.basis)
	}
	if d.Allowed && d.Basis == ExplicitDeny || !d.Allowed && d.Basis != ExplicitDeny && d.Basis != ImplicitDeny {
		t.Fatalf("inconsistent decision %+v", d)
	}
}
