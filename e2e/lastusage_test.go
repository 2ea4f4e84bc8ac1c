package e2e

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
)

// testKeyLastUsage: a key used through a follower shows that use, with
// the request's id, through every node; ReEncrypt counts for both keys;
// a failed use does not count.
func testKeyLastUsage(t *testing.T, c *cluster, newKey func(*testing.T, string) *types.KeyMetadata) {
	leader := c.waitLeader(10*time.Second, "")
	f1 := c.follower(leader)
	var f2 *proc
	for _, p := range c.nodes {
		if p != leader && p != f1 {
			f2 = p
		}
	}
	via := map[string]*kms.Client{"leader": kmsClient(leader.api, c.creds, 3), "follower": kmsClient(f1.api, c.creds, 3),
		"other follower": kmsClient(f2.api, c.creds, 3)}
	k, other := newKey(t, "usage"), newKey(t, "usage-other")

	u, err := via["other follower"].GetKeyLastUsage(ctx10(t), &kms.GetKeyLastUsageInput{KeyId: k.Arn})
	if err != nil || *u.KeyId != *k.KeyId || u.KeyLastUsage == nil || u.KeyLastUsage.Timestamp != nil ||
		!u.TrackingStartDate.Equal(*u.KeyCreationDate) || !u.KeyCreationDate.Equal(*k.CreationDate) {
		t.Fatalf("GetKeyLastUsage of an unused key: %v %+v", err, u)
	}
	_, err = via["leader"].GetKeyLastUsage(ctx10(t), &kms.GetKeyLastUsageInput{KeyId: aws.String("alias/aws/none")})
	wantCode(t, "GetKeyLastUsage of an alias", err, "NotFoundException")

	before := time.Now().Add(-time.Second)
	enc, err := via["follower"].Encrypt(ctx10(t), &kms.EncryptInput{KeyId: k.KeyId, Plaintext: []byte("used")})
	if err != nil {
		t.Fatal(err)
	}
	requestID, _ := awsmiddleware.GetRequestIDMetadata(enc.ResultMetadata)
	_, err = via["follower"].Decrypt(ctx10(t), &kms.DecryptInput{CiphertextBlob: enc.CiphertextBlob, KeyId: other.KeyId})
	wantCode(t, "Decrypt naming another key", err, "IncorrectKeyException")
	for name, cl := range via {
		u, err := cl.GetKeyLastUsage(ctx10(t), &kms.GetKeyLastUsageInput{KeyId: k.KeyId})
		if err != nil {
			t.Fatalf("via the %s: %v", name, err)
		}
		lu := u.KeyLastUsage
		if lu == nil || lu.Operation != types.KeyLastUsageTrackingOperationEncrypt || requestID == "" ||
			aws.ToString(lu.KmsRequestId) != requestID || len(aws.ToString(lu.CloudTrailEventId)) != 36 ||
			lu.Timestamp == nil || lu.Timestamp.Before(before) || lu.Timestamp.After(time.Now().Add(time.Second)) {
			t.Fatalf("via the %s: KeyLastUsage %+v, want the Encrypt of request %s", name, lu, requestID)
		}
	}

	re, err := via["other follower"].ReEncrypt(ctx10(t), &kms.ReEncryptInput{CiphertextBlob: enc.CiphertextBlob, DestinationKeyId: other.KeyId})
	if err != nil {
		t.Fatal(err)
	}
	requestID, _ = awsmiddleware.GetRequestIDMetadata(re.ResultMetadata)
	for _, id := range []*string{k.KeyId, other.KeyId} {
		u, err := via["follower"].GetKeyLastUsage(ctx10(t), &kms.GetKeyLastUsageInput{KeyId: id})
		if err != nil || u.KeyLastUsage.Operation != types.KeyLastUsageTrackingOperationReEncrypt || aws.ToString(u.KeyLastUsage.KmsRequestId) != requestID {
			t.Fatalf("after ReEncrypt, key %s: %v %+v", *id, err, u.KeyLastUsage)
		}
	}
}

// testModelOperations: every operation of the SDK's KMS model, sent signed
// through a follower with an empty body, gets an answer keyraft chose
// (served: its own validation; not served: UnsupportedOperationException),
// never UnknownOperationException. A name AWS lacks stays unknown.
func testModelOperations(t *testing.T, c *cluster) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/aws/aws-sdk-go-v2/service/kms").Output()
	if err != nil {
		t.Fatalf("go list the SDK module: %v", err)
	}
	files, _ := filepath.Glob(filepath.Join(strings.TrimSpace(string(out)), "api_op_*.go"))
	if len(files) < 56 {
		t.Fatalf("%d operations in the model", len(files))
	}
	api := c.follower(c.waitLeader(10*time.Second, "")).api
	unsupported := 0
	for _, f := range files {
		name := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(f), "api_op_"), ".go")
		a := rawCall(t, api, "TrentService."+name, "{}", c.creds.AccessKeyID, c.creds.SecretAccessKey, time.Now())
		switch a.errType {
		case "UnknownOperationException", "":
			if a.status != 200 {
				t.Errorf("%s: %d %s %q", name, a.status, a.errType, a.message)
			}
		case "UnsupportedOperationException":
			unsupported++
		}
	}
	if unsupported != 8 {
		t.Errorf("%d operations unsupported, want the 8 docs/api.md lists", unsupported)
	}
	if a := rawCall(t, api, "TrentService.ReplicateKeys", "{}", c.creds.AccessKeyID, c.creds.SecretAccessKey, time.Now()); a.errType != "UnknownOperationException" {
		t.Errorf("an operation AWS lacks: %s", a.errType)
	}
}
