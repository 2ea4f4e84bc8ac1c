package policy

import (
	"errors"
	"strings"
	"testing"
)

var okStmt = allowTo(alice, `"kms:Encrypt"`)

var parseCases = []policyCase{
	{name: "parse/invalid JSON", key: `{"Version":`, wantReason: reasonSyntax},
	{name: "parse/trailing data", key: doc(okStmt) + `{}`, wantReason: reasonSyntax},
	{name: "parse/not an object", key: `[]`, wantReason: reasonSyntax},
	{name: "parse/unknown top-level element", key: `{"Version":"2012-10-17","Foo":1,"Statement":[` + okStmt + `]}`, wantReason: reasonSyntax, wantPart: `"Foo"`},
	{name: "parse/bad version", key: `{"Version":"2010-01-01","Statement":[` + okStmt + `]}`, wantReason: reasonSyntax, wantPart: "Version"},
	{name: "parse/missing statement", key: `{"Version":"2012-10-17"}`, wantReason: reasonSyntax, wantPart: "Statement"},
	{name: "parse/empty statement list", key: doc(), wantReason: reasonSyntax, wantPart: "Statement"},
	{name: "parse/effect in lower case", key: doc(`{"Effect":"allow","Principal":"*","Action":"kms:*","Resource":"*"}`), wantReason: reasonSyntax, wantPart: "Statement[0].Effect"},
	{name: "parse/missing effect", key: doc(`{"Principal":"*","Action":"kms:*","Resource":"*"}`), wantReason: reasonSyntax, wantPart: "Statement[0].Effect"},
	{name: "parse/element name case", key: doc(`{"effect":"Allow","Principal":"*","Action":"kms:*","Resource":"*"}`), wantReason: reasonSyntax, wantPart: `"effect"`},
	{name: "parse/duplicate element", key: doc(`{"Effect":"Allow","Effect":"Deny","Principal":"*","Action":"kms:*","Resource":"*"}`), wantReason: reasonSyntax},
	{name: "parse/unknown statement element", key: doc(`{"Effect":"Allow","Principal":"*","Action":"kms:*","Resource":"*","Foo":"x"}`), wantReason: reasonSyntax, wantPart: `Statement[0]."Foo"`},
	{name: "parse/missing action", key: doc(`{"Effect":"Allow","Principal":"*","Resource":"*"}`), wantReason: reasonActions, wantPart: "Statement[0]"},
	{name: "parse/empty action list", key: doc(`{"Effect":"Allow","Principal":"*","Action":[],"Resource":"*"}`), wantReason: reasonActions, wantPart: "Statement[0].Action"},
	{name: "parse/action and notaction", key: doc(`{"Effect":"Allow","Principal":"*","Action":"kms:*","NotAction":"kms:Decrypt","Resource":"*"}`), wantReason: reasonSyntax},
	{name: "parse/action without vendor", key: doc(allowTo(alice, `["kms:Encrypt","Decrypt"]`)), wantReason: reasonVendor, wantPart: "Statement[0].Action[1]"},
	{name: "parse/action with two colons", key: doc(allowTo(alice, `"kms:Encrypt:x"`)), wantReason: reasonColon},
	{name: "parse/action not a string", key: doc(allowTo(alice, `[1]`)), wantReason: reasonSyntax, wantPart: "Statement[0].Action[0]"},
	{name: "parse/missing resource", key: doc(`{"Effect":"Allow","Principal":"*","Action":"kms:*"}`), wantReason: reasonResources},
	{name: "parse/resource not an ARN", key: doc(`{"Effect":"Allow","Principal":"*","Action":"kms:*","Resource":"key/abc"}`), wantReason: `Resource key/abc must be in ARN format or "*".`, wantPart: "Statement[0].Resource"},
	{name: "parse/NotPrincipal", key: doc(`{"Effect":"Deny","NotPrincipal":{"AWS":"` + alice + `"},"Action":"kms:*","Resource":"*"}`), wantReason: reasonPrincipals, wantPart: "NotPrincipal"},
	{name: "parse/missing principal", key: doc(idAllow(`"kms:*"`)), wantReason: reasonPrincipals, wantPart: "Statement[0].Principal"},
	{name: "parse/principal string not star", key: doc(`{"Effect":"Allow","Principal":"alice","Action":"kms:*","Resource":"*"}`), wantReason: reasonPrincipals},
	{name: "parse/service principal", key: doc(`{"Effect":"Allow","Principal":{"Service":"logs.amazonaws.com"},"Action":"kms:*","Resource":"*"}`), wantReason: reasonPrincipals, wantPart: `"Service"`},
	{name: "parse/wildcard principal ARN", key: doc(allowTo("arn:aws:iam::111122223333:user/*", `"kms:*"`)), wantReason: reasonPrincipals, wantPart: "Principal.AWS"},
	{name: "parse/short account id", key: doc(allowTo("12345", `"kms:*"`)), wantReason: reasonPrincipals},
	{name: "parse/empty principal list", key: doc(`{"Effect":"Allow","Principal":{"AWS":[]},"Action":"kms:*","Resource":"*"}`), wantReason: reasonPrincipals},
	{name: "parse/identity policy with principal", identity: []string{doc(allowTo(alice, `"kms:*"`))}, wantReason: reasonNoPrincipal},
	{name: "parse/unknown operator", key: doc(withCond(alice, `"kms:*"`, `{"StringEqual":{"kms:CallerAccount":"111122223333"}}`)), wantReason: reasonOperator, wantPart: `"StringEqual"`},
	{name: "parse/unsupported operator", key: doc(withCond(alice, `"kms:*"`, `{"DateLessThan":{"kms:CallerAccount":"1"}}`)), wantReason: reasonOperator},
	{name: "parse/unknown condition key", key: doc(withCond(alice, `"kms:*"`, `{"StringEquals":{"kms:ViaService":"ec2.us-east-1.amazonaws.com"}}`)), wantReason: reasonConditionKey, wantPart: `"kms:ViaService"`},
	{name: "parse/empty context key", key: doc(withCond(alice, `"kms:*"`, `{"StringEquals":{"kms:EncryptionContext:":"x"}}`)), wantReason: reasonConditionKey},
	{name: "parse/Null with IfExists", key: doc(withCond(alice, `"kms:*"`, `{"NullIfExists":{"kms:EncryptionContextKeys":"true"}}`)), wantReason: reasonOperator},
	{name: "parse/Null with set operator", key: doc(withCond(alice, `"kms:*"`, `{"ForAnyValue:Null":{"kms:EncryptionContextKeys":"true"}}`)), wantReason: reasonOperator},
	{name: "parse/Bool value not boolean", key: doc(withCond(alice, `"kms:*"`, `{"Bool":{"aws:SecureTransport":"yes"}}`)), wantReason: reasonConditionValue},
	{name: "parse/empty condition value list", key: doc(withCond(alice, `"kms:*"`, `{"StringEquals":{"kms:CallerAccount":[]}}`)), wantReason: reasonConditionValue},
	{name: "parse/object condition value", key: doc(withCond(alice, `"kms:*"`, `{"StringEquals":{"kms:CallerAccount":{"a":"b"}}}`)), wantReason: reasonConditionValue},
	{name: "parse/ForAllValues on a context key", key: doc(withCond(alice, `"kms:*"`, `{"ForAllValues:StringEquals":{"kms:EncryptionContext:AppName":"x"}}`)), wantReason: reasonOverlyPermissive},
	{name: "parse/policy variable", key: doc(withCond(alice, `"kms:*"`, `{"StringEquals":{"aws:PrincipalArn":"${aws:username}"}}`)), wantReason: reasonVariables},
	{name: "parse/duplicate Sid", key: doc(`{"Sid":"a","Effect":"Allow","Principal":"*","Action":"kms:*","Resource":"*"}`, `{"Sid":"a","Effect":"Deny","Principal":"*","Action":"kms:*","Resource":"*"}`), wantReason: reasonSid, wantPart: "Statement[1].Sid"},
	{name: "parse/character outside Latin-1", key: doc(`{"Sid":"snow☃","Effect":"Allow","Principal":"*","Action":"kms:*","Resource":"*"}`), wantReason: reasonCharacters},
	{name: "parse/too large", key: doc(`{"Sid":"` + strings.Repeat("x", MaxSize) + `","Effect":"Allow","Principal":"*","Action":"kms:*","Resource":"*"}`), wantReason: reasonTooLarge},
}

func TestParseAccepts(t *testing.T) {
	for name, d := range map[string]string{
		"default":             string(DefaultKeyPolicy(acct)),
		"single statement":    `{"Statement":{"Effect":"Allow","Principal":"*","Action":"kms:Encrypt","Resource":"*"}}`,
		"account id":          doc(allowTo(acct, `"kms:*"`)),
		"principal list":      `{"Statement":{"Effect":"Allow","Principal":{"AWS":["*","` + alice + `","arn:aws:iam::111122223333:role/r"]},"Action":"*","Resource":["*"]}}`,
		"2008 literal ${":     `{"Version":"2008-10-17","Statement":{"Effect":"Allow","Principal":"*","Action":"kms:Encrypt","Resource":"*","Condition":{"StringEquals":{"aws:PrincipalArn":"${x}"}}}}`,
		"every operator":      doc(withCond("*", `"kms:*"`, `{"StringEqualsIfExists":{"kms:CallerAccount":["1",2]},"ForAnyValue:StringLike":{"kms:EncryptionContextKeys":"a*"},"ArnLike":{"aws:PrincipalArn":"arn:aws:iam::*:user/*"},"Bool":{"aws:SecureTransport":true},"Null":{"kms:EncryptionContext:x":"false"}}`)),
		"empty condition set": doc(withCond("*", `"kms:*"`, `{"StringEquals":{}}`)),
	} {
		if _, err := Parse([]byte(d)); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := ParseIdentity([]byte(doc(idAllow(`["kms:Encrypt","s3:GetObject"]`)))); err != nil {
		t.Error(err)
	}
}

func TestMalformedError(t *testing.T) {
	_, err := Parse([]byte(doc(allowTo("bob", `"kms:*"`))))
	want := `Policy contains a statement with one or more invalid principals. Statement[0].Principal.AWS: "bob" is not "*", an account id or an IAM principal ARN`
	if err == nil || err.Error() != want {
		t.Fatalf("err = %v\nwant  %s", err, want)
	}
	_, err = Parse(make([]byte, MaxSize+1))
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("err = %v, want ErrTooLarge", err)
	}
}

func TestPrincipals(t *testing.T) {
	p, err := Parse([]byte(doc(allowTo(acct, `"kms:*"`), allowTo(alice, `"kms:Encrypt"`), allowTo("*", `"kms:Decrypt"`), allowTo(alice, `"kms:Sign"`))))
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(p.Principals(), " ")
	if got != root+" "+alice {
		t.Fatalf("Principals() = %s", got)
	}
}

func TestDefaultKeyPolicy(t *testing.T) {
	want := "{\n  \"Version\" : \"2012-10-17\",\n  \"Id\" : \"key-default-1\",\n  \"Statement\" : [ {\n    \"Sid\" : \"Enable IAM User Permissions\",\n" +
		"    \"Effect\" : \"Allow\",\n    \"Principal\" : {\n      \"AWS\" : \"arn:aws:iam::111122223333:root\"\n    },\n" +
		"    \"Action\" : \"kms:*\",\n    \"Resource\" : \"*\"\n  } ]\n}"
	if got := string(DefaultKeyPolicy(acct)); got != want {
		t.Fatalf("DefaultKeyPolicy =\n%s\nwant\n%s", got, want)
	}
	p, err := Parse(DefaultKeyPolicy(acct))
	if err != nil || p.ID != "key-default-1" || p.Version != "2012-10-17" || p.Kind() != KeyPolicy {
		t.Fatalf("Parse(default) = %+v, %v", p, err)
	}
}
