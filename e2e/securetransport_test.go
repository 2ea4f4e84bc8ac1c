package e2e

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
)

// TestSecureTransportCondition: aws:SecureTransport is true exactly when the
// client reached keyraft over TLS, directly to the leader or through a
// follower that forwarded the call. A key whose policy allows kms:* only
// with {"Bool":{"aws:SecureTransport":"true"}} serves Encrypt to an HTTPS
// client on either node of a TLS cluster and refuses it to a plain-HTTP
// client on either node of a plaintext one. Before, the condition was
// evaluated as false for every call, so the TLS calls were refused too.
func TestSecureTransportCondition(t *testing.T) {
	ca := tlsGen(t, "n1", "n2", "n3")
	gossipKey := gossipKeygen(t)
	secure := startUnsealedClusterWith(t, func(p *proc) { p.secure(ca, gossipKey) })
	checkSecureTransport(t, secure, true)

	plain := startUnsealedCluster(t)
	checkSecureTransport(t, plain, false)
}

// tlsOnlyPolicy lets the account do anything with the key, over TLS only.
var tlsOnlyPolicy = doc(stmt("Allow", `{"AWS":"arn:aws:iam::`+account+`:root"}`, `"Action":"kms:*"`, `{"Bool":{"aws:SecureTransport":"true"}}`))

func checkSecureTransport(t *testing.T, c *cluster, overTLS bool) {
	t.Helper()
	leader := c.waitLeader(15*time.Second, "")
	follower := c.follower(leader)
	// The lockout check asks as a plain-HTTP caller would, so this policy
	// needs the bypass.
	key, err := kmsClient(leader.api, c.creds, 3).CreateKey(ctx10(t), &kms.CreateKeyInput{
		Policy: aws.String(tlsOnlyPolicy), BypassPolicyLockoutSafetyCheck: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []*proc{leader, follower} {
		_, err := kmsClient(p.api, c.creds, 3).Encrypt(ctx10(t), &kms.EncryptInput{KeyId: key.KeyMetadata.KeyId, Plaintext: []byte("x")})
		what := "Encrypt over " + map[bool]string{true: "TLS", false: "plain HTTP"}[overTLS] + " via " + p.id
		if p == leader {
			what += " (the leader)"
		} else {
			what += " (a follower)"
		}
		if overTLS {
			if err != nil {
				t.Fatalf("%s: %v", what, err)
			}
		} else {
			wantCode(t, what, err, "AccessDeniedException")
			// Nothing the client sends makes a plain connection secure.
			req := signedRequest(t, p.api, c.creds, "TrentService.Encrypt", `{"KeyId":"`+*key.KeyMetadata.KeyId+`","Plaintext":"eA=="}`)
			req.Header.Set("X-Forwarded-Proto", "https")
			req.Header.Set("Forwarded", "proto=https")
			if status, answer := send(t, p.api, req); status != http.StatusBadRequest || !strings.Contains(answer, "AccessDeniedException") {
				t.Fatalf("%s with X-Forwarded-Proto: https: HTTP %d %s", what, status, answer)
			}
		}
	}
}
