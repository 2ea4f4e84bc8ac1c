package sigv4

import (
	"reflect"
	"strings"
	"testing"
)

const goodSig = "88a58042d5d3c5ee8282d764cbfe8ef1eeda623be39ce44c87a76c538f7000e5"

func TestParseAuthorization(t *testing.T) {
	want := Authorization{
		AccessKeyID: "AKIDEXAMPLE", Date: "20260315", Region: "us-east-1", Service: "kms",
		SignedHeaders: []string{"content-type", "host", "x-amz-date", "x-amz-target"},
		Signature:     goodSig,
	}
	for _, h := range []string{
		// botocore and the Go SDK
		"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260315/us-east-1/kms/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=" + goodSig,
		// no spaces after the commas, other order, surrounding and extra whitespace
		"AWS4-HMAC-SHA256 Signature=" + goodSig + ",Credential=AKIDEXAMPLE/20260315/us-east-1/kms/aws4_request,SignedHeaders=content-type;host;x-amz-date;x-amz-target",
		" AWS4-HMAC-SHA256   Credential=AKIDEXAMPLE/20260315/us-east-1/kms/aws4_request ,\tSignedHeaders=content-type;host;x-amz-date;x-amz-target , Signature=" + goodSig + "\t",
	} {
		got, err := ParseAuthorization(h)
		if err != nil {
			t.Fatalf("ParseAuthorization(%q): %v", h, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("ParseAuthorization(%q) = %+v, want %+v", h, got, want)
		}
		if again, err := ParseAuthorization(got.String()); err != nil || !reflect.DeepEqual(again, want) {
			t.Fatalf("round trip of %q: %+v, %v", got.String(), again, err)
		}
	}

	cred := "Credential=AKIDEXAMPLE/20260315/us-east-1/kms/aws4_request"
	sh := "SignedHeaders=host;x-amz-date"
	sg := "Signature=" + goodSig
	join := func(parts ...string) string { return "AWS4-HMAC-SHA256 " + strings.Join(parts, ", ") }
	shapeErr := func(got string) string {
		return "SignedHeaders must list distinct lowercase header names in ascending order, separated by ';', got '" + got + "'. "
	}
	for _, tt := range []struct{ header, typ, msg string }{
		{"", TypeMissingAuthenticationToken, "Missing Authentication Token"},
		{"Bearer abc", TypeMissingAuthenticationToken, "Missing Authentication Token"},
		{"aws4-hmac-sha256 " + cred, TypeMissingAuthenticationToken, "Missing Authentication Token"},
		{"AWS4-HMAC-SHA256," + cred, TypeIncompleteSignature,
			"Unsupported AWS 'algorithm': 'AWS4-HMAC-SHA256," + cred + "' (only AWS4-HMAC-SHA256 for now). "},
		{"AWS4-HMAC-SHA256 ", TypeIncompleteSignature,
			"Authorization header requires 'Credential' parameter. Authorization header requires 'Signature' parameter. " +
				"Authorization header requires 'SignedHeaders' parameter. Authorization=AWS4-HMAC-SHA256"},
		{join(cred, "SignedHeaders=", sg), TypeIncompleteSignature,
			"Authorization header requires 'SignedHeaders' parameter. Authorization=" + join(cred, "SignedHeaders=", sg)},
		{join(cred, sh, sg) + ",", TypeIncompleteSignature,
			"'' not a valid key=value pair (missing equal-sign) in Authorization header: '" + join(cred, sh, sg) + ",'."},
		{join(cred, sh, sg, "Foo=bar"), TypeIncompleteSignature,
			"'Foo' is not a parameter of the AWS4-HMAC-SHA256 Authorization header: '" + join(cred, sh, sg, "Foo=bar") + "'."},
		{join(cred, sh, sg, sg), TypeIncompleteSignature,
			"Authorization header has more than one 'Signature' parameter: '" + join(cred, sh, sg, sg) + "'."},
		{join("credential=AKIDEXAMPLE/20260315/us-east-1/kms/aws4_request", sh, sg), TypeIncompleteSignature,
			"'credential' is not a parameter of the AWS4-HMAC-SHA256 Authorization header: '" +
				join("credential=AKIDEXAMPLE/20260315/us-east-1/kms/aws4_request", sh, sg) + "'."},
		{join("Credential=/20260315/us-east-1/kms/aws4_request", sh, sg), TypeIncompleteSignature,
			"Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '/20260315/us-east-1/kms/aws4_request'"},
		{join("Credential=AKID/20260315/us-east-1/kms/aws4_request/", sh, sg), TypeIncompleteSignature,
			"Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got 'AKID/20260315/us-east-1/kms/aws4_request/'"},
		{join("Credential=AKID/20260315//kms/aws4_request", sh, sg), TypeIncompleteSignature,
			"Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got 'AKID/20260315//kms/aws4_request'"},
		{join(cred, "SignedHeaders=x-amz-date;host", sg), TypeIncompleteSignature, shapeErr("x-amz-date;host")},
		{join(cred, "SignedHeaders=host;host", sg), TypeIncompleteSignature, shapeErr("host;host")},
		{join(cred, "SignedHeaders=Host;x-amz-date", sg), TypeIncompleteSignature, shapeErr("Host;x-amz-date")},
		{join(cred, "SignedHeaders=host;;x-amz-date", sg), TypeIncompleteSignature, shapeErr("host;;x-amz-date")},
		{join(cred, "SignedHeaders=host;x amz", sg), TypeIncompleteSignature, shapeErr("host;x amz")},
		{join(cred, sh, "Signature=abc"), TypeInvalidSignature, msgSignatureMismatch},
		{join(cred, sh, "Signature="+strings.ToUpper(goodSig)), TypeInvalidSignature, msgSignatureMismatch},
		{join("Credential=AKIDEXAMPLE/20260315/us-east-1/kms/aws4", sh, sg), TypeInvalidSignature,
			"Credential should be scoped with a valid terminator: 'aws4_request', not 'aws4'. "},
	} {
		a, err := ParseAuthorization(tt.header)
		if err == nil {
			t.Errorf("ParseAuthorization(%q) = %+v, want %s", tt.header, a, tt.typ)
			continue
		}
		if !reflect.DeepEqual(a, Authorization{}) {
			t.Errorf("ParseAuthorization(%q) returned %+v with its error", tt.header, a)
		}
		t.Run(tt.header, func(t *testing.T) { checkAuthError(t, err, tt.typ, tt.msg) })
	}
}
