package policy

import (
	"errors"
	"testing"
)

var (
	defaultPolicy = string(DefaultKeyPolicy(acct))
	aliceEncrypt  = doc(allowTo(alice, `"kms:Encrypt"`))
	appNameCond   = doc(withCond(alice, `"kms:Decrypt"`, `{"StringEquals":{"kms:EncryptionContext:AppName":"ExampleApp"}}`))
	ctxKeysAll    = doc(withCond(alice, `"kms:Decrypt"`, `{"ForAllValues:StringEquals":{"kms:EncryptionContextKeys":["AppName","Env"]}}`))
	ctxKeysAny    = doc(withCond(alice, `"kms:Decrypt"`, `{"ForAnyValue:StringEquals":{"kms:EncryptionContextKeys":"AppName"}}`))
	envNotProd    = doc(withCond(alice, `"kms:Decrypt"`, `{"StringNotEquals":{"kms:EncryptionContext:Env":"prod"}}`))
	pathLike      = doc(withCond(alice, `"kms:Decrypt"`, `{"StringLike":{"kms:EncryptionContext:Path":["/data/*","/tmp/?"]}}`))
	sameAccount   = doc(withCond("*", `"kms:Encrypt"`, `{"StringEquals":{"kms:CallerAccount":"111122223333"}}`))
	denyNoContext = doc(allowTo(alice, `"kms:*"`), `{"Effect":"Deny","Principal":"*","Action":"kms:Decrypt","Resource":"*","Condition":{"Null":{"kms:EncryptionContextKeys":"true"}}}`)
	otherAccount  = doc(allowTo(root, `"kms:*"`), allowTo(otherAcct, `["kms:Encrypt","kms:Decrypt"]`))
	idEncrypt     = doc(idAllow(`"kms:Encrypt"`))
	idAll         = doc(idAllow(`"kms:*"`))
)

func crossReq(principal, action string) Request {
	r := req(principal, action, nil)
	return r
}

func onKey(r Request, key string) Request { r.Resource = key; return r }

func tls(r Request, on bool) Request { r.SecureTransport = on; return r }

var decideCases = []policyCase{
	// Principal, Action, Resource.
	{name: "allow/named principal", key: aliceEncrypt, req: req(alice, "kms:Encrypt", nil), allowed: true, basis: KeyPolicyAllow},
	{name: "deny/action not listed", key: aliceEncrypt, req: req(alice, "kms:Decrypt", nil), basis: ImplicitDeny},
	{name: "deny/other principal", key: aliceEncrypt, req: req(bob, "kms:Encrypt", nil), basis: ImplicitDeny},
	{name: "allow/action case-insensitive", key: doc(allowTo(alice, `"KMS:ENCRYPT"`)), req: req(alice, "kms:Encrypt", nil), allowed: true, basis: KeyPolicyAllow},
	{name: "allow/kms:*", key: doc(allowTo(alice, `"kms:*"`)), req: req(alice, "kms:ScheduleKeyDeletion", nil), allowed: true, basis: KeyPolicyAllow},
	{name: "allow/star action", key: doc(allowTo(alice, `"*"`)), req: req(alice, "kms:Sign", nil), allowed: true, basis: KeyPolicyAllow},
	{name: "allow/prefix wildcard", key: doc(allowTo(alice, `"kms:Encrypt*"`)), req: req(alice, "kms:Encrypt", nil), allowed: true, basis: KeyPolicyAllow},
	{name: "deny/prefix wildcard other action", key: doc(allowTo(alice, `"kms:Encrypt*"`)), req: req(alice, "kms:Decrypt", nil), basis: ImplicitDeny},
	{name: "allow/question mark wildcard", key: doc(allowTo(alice, `"kms:Describe?ey"`)), req: req(alice, "kms:DescribeKey", nil), allowed: true, basis: KeyPolicyAllow},
	{name: "allow/NotAction others", key: doc(`{"Effect":"Allow","Principal":{"AWS":"` + alice + `"},"NotAction":["kms:Decrypt","kms:ScheduleKeyDeletion"],"Resource":"*"}`), req: req(alice, "kms:Encrypt", nil), allowed: true, basis: KeyPolicyAllow},
	{name: "deny/NotAction listed", key: doc(`{"Effect":"Allow","Principal":{"AWS":"` + alice + `"},"NotAction":["kms:Decrypt","kms:ScheduleKeyDeletion"],"Resource":"*"}`), req: req(alice, "kms:Decrypt", nil), basis: ImplicitDeny},
	{name: "deny/explicit deny wins", key: doc(allowTo(alice, `"kms:*"`), `{"Sid":"NoDecrypt","Effect":"Deny","Principal":{"AWS":"`+alice+`"},"Action":"kms:Decrypt","Resource":"*"}`), req: req(alice, "kms:Decrypt", nil), basis: ExplicitDeny},
	{name: "deny/NotAction deny", key: doc(allowTo(alice, `"kms:*"`), `{"Effect":"Deny","Principal":"*","NotAction":"kms:Encrypt","Resource":"*"}`), req: req(alice, "kms:Decrypt", nil), basis: ExplicitDeny},
	{name: "deny/identity deny beats key allow", key: doc(allowTo(alice, `"kms:*"`)), identity: []string{doc(`{"Effect":"Deny","Action":"kms:Decrypt","Resource":"*"}`)}, req: req(alice, "kms:Decrypt", nil), basis: ExplicitDeny},
	{name: "allow/star principal same account", key: doc(allowTo("*", `"kms:Encrypt"`)), req: req(bob, "kms:Encrypt", nil), allowed: true, basis: KeyPolicyAllow},
	{name: "allow/resource ARN", key: doc(`{"Effect":"Allow","Principal":{"AWS":"` + alice + `"},"Action":"kms:*","Resource":"` + keyARN + `"}`), req: req(alice, "kms:Encrypt", nil), allowed: true, basis: KeyPolicyAllow},
	{name: "deny/resource other key", key: doc(`{"Effect":"Allow","Principal":{"AWS":"` + alice + `"},"Action":"kms:*","Resource":"` + key2ARN + `"}`), req: req(alice, "kms:Encrypt", nil), basis: ImplicitDeny},
	{name: "allow/resource wildcard", key: doc(`{"Effect":"Allow","Principal":{"AWS":"` + alice + `"},"Action":"kms:*","Resource":"arn:aws:kms:*:111122223333:key/*"}`), req: req(alice, "kms:Encrypt", nil), allowed: true, basis: KeyPolicyAllow},
	{name: "allow/NotResource", key: doc(`{"Effect":"Allow","Principal":{"AWS":"` + alice + `"},"Action":"kms:*","NotResource":"` + key2ARN + `"}`), req: req(alice, "kms:Encrypt", nil), allowed: true, basis: KeyPolicyAllow},

	// Conditions.
	{name: "cond/StringEquals context match", key: appNameCond, req: req(alice, "kms:Decrypt", ec("AppName", "ExampleApp", "x", "y")), allowed: true, basis: KeyPolicyAllow},
	{name: "cond/StringEquals context value differs", key: appNameCond, req: req(alice, "kms:Decrypt", ec("AppName", "Other")), basis: ImplicitDeny},
	{name: "cond/StringEquals value case-sensitive", key: appNameCond, req: req(alice, "kms:Decrypt", ec("AppName", "exampleapp")), basis: ImplicitDeny},
	{name: "cond/StringEquals context key case-insensitive", key: appNameCond, req: req(alice, "kms:Decrypt", ec("appname", "ExampleApp")), allowed: true, basis: KeyPolicyAllow},
	{name: "cond/StringEquals missing context", key: appNameCond, req: req(alice, "kms:Decrypt", nil), basis: ImplicitDeny},
	{name: "cond/condition key name case-insensitive", key: doc(withCond(alice, `"kms:Decrypt"`, `{"StringEquals":{"KMS:ENCRYPTIONCONTEXT:AppName":"ExampleApp"}}`)), req: req(alice, "kms:Decrypt", ec("AppName", "ExampleApp")), allowed: true, basis: KeyPolicyAllow},
	{name: "cond/StringEqualsIgnoreCase", key: doc(withCond(alice, `"kms:Decrypt"`, `{"StringEqualsIgnoreCase":{"kms:EncryptionContext:AppName":"ExampleApp"}}`)), req: req(alice, "kms:Decrypt", ec("AppName", "EXAMPLEAPP")), allowed: true, basis: KeyPolicyAllow},
	{name: "cond/StringNotEqualsIgnoreCase", key: doc(withCond(alice, `"kms:Decrypt"`, `{"StringNotEqualsIgnoreCase":{"kms:EncryptionContext:Env":"PROD"}}`)), req: req(alice, "kms:Decrypt", ec("Env", "prod")), basis: ImplicitDeny},
	{name: "cond/StringNotEquals other value", key: envNotProd, req: req(alice, "kms:Decrypt", ec("Env", "dev")), allowed: true, basis: KeyPolicyAllow},
	{name: "cond/StringNotEquals same value", key: envNotProd, req: req(alice, "kms:Decrypt", ec("Env", "prod")), basis: ImplicitDeny},
	{name: "cond/StringNotEquals missing key is true", key: envNotProd, req: req(alice, "kms:Decrypt", nil), allowed: true, basis: KeyPolicyAllow},
	{name: "cond/StringLike star", key: pathLike, req: req(alice, "kms:Decrypt", ec("Path", "/data/a/b")), allowed: true, basis: KeyPolicyAllow},
	{name: "cond/StringLike question mark", key: pathLike, req: req(alice, "kms:Decrypt", ec("Path", "/tmp/x")), allowed: true, basis: KeyPolicyAllow},
	{name: "cond/StringLike no match", key: pathLike, req: req(alice, "kms:Decrypt", ec("Path", "/tmp/xy")), basis: ImplicitDeny},
	{name: "cond/StringNotLike", key: doc(withCond(alice, `"kms:Decrypt"`, `{"StringNotLike":{"kms:EncryptionContext:Path":"/secret/*"}}`)), req: req(alice, "kms:Decrypt", ec("Path", "/secret/k")), basis: ImplicitDeny},
	{name: "cond/values ORed", key: doc(withCond(alice, `"kms:Decrypt"`, `{"StringEquals":{"kms:EncryptionContext:AppName":["A","B"]}}`)), req: req(alice, "kms:Decrypt", ec("AppName", "B")), allowed: true, basis: KeyPolicyAllow},
	{name: "cond/keys ANDed", key: doc(withCond(alice, `"kms:Decrypt"`, `{"StringEquals":{"kms:EncryptionContext:AppName":"A","kms:EncryptionContext:Env":"prod"}}`)), req: req(alice, "kms:Decrypt", ec("AppName", "A", "Env", "dev")), basis: ImplicitDeny},
	{name: "cond/operators ANDed", key: doc(withCond(alice, `"kms:Decrypt"`, `{"StringEquals":{"kms:EncryptionContext:AppName":"A"},"StringLike":{"kms:EncryptionContext:Env":"p*"}}`)), req: req(alice, "kms:Decrypt", ec("AppName", "A", "Env", "prod")), allowed: true, basis: KeyPolicyAllow},
	{name: "cond/ForAllValues subset", key: ctxKeysAll, req: req(alice, "kms:Decrypt", ec("AppName", "a")), allowed: true, basis: KeyPolicyAllow},
	{name: "cond/ForAllValues extra key", key: ctxKeysAll, req: req(alice, "kms:Decrypt", ec("AppName", "a", "Other", "b")), basis: ImplicitDeny},
	{name: "cond/ForAllValues empty set is true", key: ctxKeysAll, req: req(alice, "kms:Decrypt", nil), allowed: true, basis: KeyPolicyAllow},
	{name: "cond/ForAnyValue one matches", key: ctxKeysAny, req: req(alice, "kms:Decrypt", ec("AppName", "a", "Other", "b")), allowed: true, basis: KeyPolicyAllow},
	{name: "cond/ForAnyValue none matches", key: ctxKeysAny, req: req(alice, "kms:Decrypt", ec("Other", "b")), basis: ImplicitDeny},
	{name: "cond/ForAnyValue empty set is false", key: ctxKeysAny, req: req(alice, "kms:Decrypt", nil), basis: ImplicitDeny},
	{name: "cond/ForAnyValue StringLike", key: doc(withCond(alice, `"kms:Decrypt"`, `{"ForAnyValue:StringLike":{"kms:EncryptionContextKeys":"aws:*"}}`)), req: req(alice, "kms:Decrypt", ec("aws:s3:arn", "x")), allowed: true, basis: KeyPolicyAllow},
	{name: "cond/ForAllValues StringNotLike", key: doc(withCond(alice, `"kms:Decrypt"`, `{"ForAllValues:StringNotLike":{"kms:EncryptionContextKeys":"secret*"}}`)), req: req(alice, "kms:Decrypt", ec("a", "1", "secretKey", "2")), basis: ImplicitDeny},
	{name: "cond/ForAnyValue StringNotEquals", key: doc(withCond(alice, `"kms:Decrypt"`, `{"ForAnyValue:StringNotEquals":{"kms:EncryptionContextKeys":"AppName"}}`)), req: req(alice, "kms:Decrypt", ec("AppName", "a", "b", "c")), allowed: true, basis: KeyPolicyAllow},
	{name: "cond/IfExists missing", key: doc(withCond(alice, `"kms:Decrypt"`, `{"StringEqualsIfExists":{"kms:EncryptionContext:AppName":"A"}}`)), req: req(alice, "kms:Decrypt", nil), allowed: true, basis: KeyPolicyAllow},
	{name: "cond/IfExists present and wrong", key: doc(withCond(alice, `"kms:Decrypt"`, `{"StringEqualsIfExists":{"kms:EncryptionContext:AppName":"A"}}`)), req: req(alice, "kms:Decrypt", ec("AppName", "B")), basis: ImplicitDeny},
	{name: "cond/CallerAccount same", key: sameAccount, req: req(bob, "kms:Encrypt", nil), allowed: true, basis: KeyPolicyAllow},
	{name: "cond/CallerAccount other", key: sameAccount, req: req(carol, "kms:Encrypt", nil), identity: []string{idAll}, basis: ImplicitDeny},
	{name: "cond/PrincipalArn StringLike", key: doc(withCond("*", `"kms:Encrypt"`, `{"StringLike":{"aws:PrincipalArn":"arn:aws:iam::111122223333:user/a*"}}`)), req: req(alice, "kms:Encrypt", nil), allowed: true, basis: KeyPolicyAllow},
	{name: "cond/ArnLike PrincipalArn", key: doc(withCond("*", `"kms:Encrypt"`, `{"ArnLike":{"aws:PrincipalArn":"arn:aws:iam::*:user/b*"}}`)), req: req(alice, "kms:Encrypt", nil), basis: ImplicitDeny},
	{name: "cond/ArnNotEquals PrincipalArn", key: doc(withCond("*", `"kms:Encrypt"`, `{"ArnNotEquals":{"aws:PrincipalArn":"`+bob+`"}}`)), req: req(alice, "kms:Encrypt", nil), allowed: true, basis: KeyPolicyAllow},
	{name: "cond/Bool SecureTransport over TLS", key: doc(withCond(alice, `"kms:Encrypt"`, `{"Bool":{"aws:SecureTransport":"true"}}`)), req: tls(req(alice, "kms:Encrypt", nil), true), allowed: true, basis: KeyPolicyAllow},
	{name: "cond/Bool SecureTransport plain", key: doc(withCond(alice, `"kms:Encrypt"`, `{"Bool":{"aws:SecureTransport":true}}`)), req: req(alice, "kms:Encrypt", nil), basis: ImplicitDeny},
	{name: "cond/Null requires context", key: doc(withCond(alice, `"kms:Decrypt"`, `{"Null":{"kms:EncryptionContextKeys":"false"}}`)), req: req(alice, "kms:Decrypt", ec()), basis: ImplicitDeny},
	{name: "cond/Deny without context", key: denyNoContext, req: req(alice, "kms:Decrypt", nil), basis: ExplicitDeny},
	{name: "cond/Deny without context not applied", key: denyNoContext, req: req(alice, "kms:Decrypt", ec("k", "v")), allowed: true, basis: KeyPolicyAllow},

	// Root delegation and identity policies.
	{name: "root/default allows root", key: defaultPolicy, req: req(root, "kms:PutKeyPolicy", nil), allowed: true, basis: KeyPolicyAllow},
	{name: "root/default gives a user nothing", key: defaultPolicy, req: req(alice, "kms:Encrypt", nil), basis: ImplicitDeny},
	{name: "root/default plus identity allow", key: defaultPolicy, identity: []string{idEncrypt}, req: req(alice, "kms:Encrypt", nil), allowed: true, basis: IdentityPolicyAllow},
	{name: "root/identity allows only what it names", key: defaultPolicy, identity: []string{idEncrypt}, req: req(alice, "kms:Decrypt", nil), basis: ImplicitDeny},
	{name: "root/identity ignored without delegation", key: doc(allowTo(bob, `"kms:*"`)), identity: []string{idAll}, req: req(alice, "kms:Encrypt", nil), basis: ImplicitDeny},
	{name: "root/account id delegates", key: doc(allowTo(acct, `"kms:*"`)), identity: []string{idAll}, req: req(alice, "kms:Decrypt", nil), allowed: true, basis: IdentityPolicyAllow},
	{name: "root/delegation limited to its actions", key: doc(allowTo(root, `"kms:Encrypt"`)), identity: []string{idAll}, req: req(alice, "kms:Decrypt", nil), basis: ImplicitDeny},
	{name: "root/identity resource must match", key: defaultPolicy, identity: []string{doc(`{"Effect":"Allow","Action":"kms:*","Resource":"` + key2ARN + `"}`)}, req: req(alice, "kms:Encrypt", nil), basis: ImplicitDeny},
	{name: "root/account deny reaches users", key: doc(allowTo(alice, `"kms:*"`), `{"Effect":"Deny","Principal":{"AWS":"`+acct+`"},"Action":"kms:Decrypt","Resource":"*"}`), req: req(alice, "kms:Decrypt", nil), basis: ExplicitDeny},
	{name: "cross/other account user with identity", key: otherAccount, identity: []string{idAll}, req: crossReq(carol, "kms:Encrypt"), allowed: true, basis: IdentityPolicyAllow},
	{name: "cross/other account user without identity", key: otherAccount, req: crossReq(carol, "kms:Encrypt"), basis: ImplicitDeny},
	{name: "cross/other account root", key: otherAccount, req: crossReq(otherRoot, "kms:Decrypt"), allowed: true, basis: KeyPolicyAllow},
	{name: "cross/star principal needs identity", key: doc(allowTo("*", `"kms:Encrypt"`)), req: crossReq(carol, "kms:Encrypt"), basis: ImplicitDeny},
	{name: "account/root creates keys", req: onKey(req(root, "kms:CreateKey", nil), "*"), allowed: true, basis: AccountRootAllow},
	{name: "account/user with identity creates keys", identity: []string{doc(idAllow(`"kms:CreateKey"`))}, req: onKey(req(alice, "kms:CreateKey", nil), "*"), allowed: true, basis: IdentityPolicyAllow},
	{name: "account/user without identity", req: onKey(req(alice, "kms:CreateKey", nil), "*"), basis: ImplicitDeny},
	{name: "account/identity scoped to keys", identity: []string{doc(`{"Effect":"Allow","Action":"kms:*","Resource":"arn:aws:kms:*:111122223333:key/*"}`)}, req: onKey(req(alice, "kms:CreateKey", nil), "*"), basis: ImplicitDeny},
}

func TestWithGrant(t *testing.T) {
	kp, _ := Parse([]byte(defaultPolicy))
	d := Decide(kp, nil, req(alice, "kms:Decrypt", nil))
	if g := d.WithGrant(); !g.Allowed || g.Basis != GrantAllow {
		t.Fatalf("implicit deny with grant = %+v", g)
	}
	deny, _ := ParseIdentity([]byte(doc(`{"Effect":"Deny","Action":"kms:*","Resource":"*"}`)))
	d = Decide(kp, []*Policy{deny}, req(alice, "kms:Decrypt", nil))
	if g := d.WithGrant(); g.Allowed || g.Basis != ExplicitDeny {
		t.Fatalf("explicit deny with grant = %+v", g)
	}
	d = Decide(kp, nil, req(root, "kms:Decrypt", nil))
	if g := d.WithGrant(); g != d {
		t.Fatalf("allowed with grant = %+v, want %+v", g, d)
	}
}

func TestEvaluate(t *testing.T) {
	kp, _ := Parse([]byte(defaultPolicy))
	for _, c := range []struct {
		p    *Policy
		r    Request
		want Effect
	}{
		{kp, req(root, "kms:Encrypt", nil), Allow},
		{kp, req(alice, "kms:Encrypt", nil), NotApplicable}, // delegation only
		{nil, req(alice, "kms:Encrypt", nil), NotApplicable},
	} {
		if got := c.p.Evaluate(c.r); got != c.want {
			t.Errorf("Evaluate(%s) = %v, want %v", c.r.PrincipalARN, got, c.want)
		}
	}
}

func TestLockoutCheck(t *testing.T) {
	for _, c := range []struct {
		name, doc, caller string
		ok                bool
	}{
		{"default policy", defaultPolicy, alice, true},
		{"caller may only encrypt", aliceEncrypt, alice, false},
		{"caller may put policy", doc(allowTo(alice, `["kms:PutKeyPolicy","kms:GetKeyPolicy"]`)), alice, true},
		{"only another user may", doc(allowTo(bob, `"kms:*"`)), alice, false},
		{"root allowed but everyone denied", doc(allowTo(root, `"kms:*"`), `{"Effect":"Deny","Principal":"*","Action":"kms:PutKeyPolicy","Resource":"*"}`), alice, false},
		{"caller denied, root allowed", doc(allowTo(root, `"kms:*"`), `{"Effect":"Deny","Principal":{"AWS":"`+alice+`"},"Action":"kms:PutKeyPolicy","Resource":"*"}`), alice, true},
		{"needs context", doc(withCond(alice, `"kms:*"`, `{"StringEquals":{"kms:EncryptionContext:a":"b"}}`)), alice, false},
		{"key ARN pattern of the account", doc(`{"Effect":"Allow","Principal":{"AWS":"` + alice + `"},"Action":"kms:*","Resource":"arn:aws:kms:*:111122223333:key/*"}`), alice, true},
		{"key ARN pattern of another account", doc(`{"Effect":"Allow","Principal":{"AWS":"` + alice + `"},"Action":"kms:*","Resource":"arn:aws:kms:*:444455556666:key/*"}`), alice, false},
	} {
		p, err := Parse([]byte(c.doc))
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		err = LockoutCheck(p, c.caller, acct)
		if c.ok != (err == nil) {
			t.Errorf("%s: LockoutCheck = %v", c.name, err)
		}
		if err != nil && (!errors.Is(err, ErrLockout) || err.Error() != "The new key policy will not allow you to update the key policy in the future.") {
			t.Errorf("%s: error %q", c.name, err)
		}
	}
}

func TestStrings(t *testing.T) {
	for got, want := range map[string]string{
		Allow.String(): "Allow", Effect(9).String(): "Effect(9)", GrantAllow.String(): "GrantAllow",
		Basis(42).String(): "Basis(42)", IdentityPolicy.String(): "identity policy", Kind(0).String(): "Kind(0)",
	} {
		if got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	}
}
