package e2e

import (
	"strings"
	"testing"
	"time"
)

func testProtocolErrors(t *testing.T, c *cluster) {
	api := c.nodes[0].api
	ak, sk := c.creds.AccessKeyID, c.creds.SecretAccessKey
	now := time.Now()
	cases := []struct {
		name, target, body, akid, secret string
		at                               time.Time
		status                           int
		errType, msgPart                 string
	}{
		{"unknown operation", "TrentService.NoSuchThing", "{}", ak, sk, now, 400, "UnknownOperationException", ""},
		{"malformed JSON", "TrentService.ListKeys", "{nope", ak, sk, now, 400, "SerializationException", ""},
		{"missing auth", "TrentService.ListKeys", "{}", "", "", now, 400, "MissingAuthenticationTokenException", "Missing Authentication Token"},
		{"unknown access key", "TrentService.ListKeys", "{}", "AKIAUNKNOWNUNKNOWN00", sk, now, 400, "UnrecognizedClientException", "security token included in the request is invalid"},
		{"wrong secret", "TrentService.ListKeys", "{}", ak, sk + "x", now, 400, "InvalidSignatureException", "does not match"},
		{"expired", "TrentService.ListKeys", "{}", ak, sk, now.Add(-6 * time.Minute), 400, "InvalidSignatureException", "Signature expired"},
		{"not yet current", "TrentService.ListKeys", "{}", ak, sk, now.Add(6 * time.Minute), 400, "InvalidSignatureException", "Signature not yet current"},
	}
	for _, tc := range cases {
		got := rawCall(t, api, tc.target, tc.body, tc.akid, tc.secret, tc.at)
		if got.status != tc.status || got.errType != tc.errType || !strings.Contains(got.message, tc.msgPart) {
			t.Errorf("%s: got %d %s %q, want %d %s containing %q", tc.name, got.status, got.errType, got.message, tc.status, tc.errType, tc.msgPart)
		}
		if got.header.Get("X-Amzn-Errortype") != tc.errType || got.header.Get("Content-Type") != "application/x-amz-json-1.1" {
			t.Errorf("%s: headers %v", tc.name, got.header)
		}
	}
	// A valid call through each node answers 200 with the JSON 1.1 content type.
	for _, p := range c.nodes {
		got := rawCall(t, p.api, "TrentService.ListKeys", "", ak, sk, now)
		if got.status != 200 || got.header.Get("Content-Type") != "application/x-amz-json-1.1" {
			t.Fatalf("ListKeys with an empty body via %s: %d %s %s", p.id, got.status, got.errType, got.message)
		}
	}
}
