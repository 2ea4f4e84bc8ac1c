package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
)

// testGrantWidening: a grantee whose grant allows CreateGrant passes on
// only what it holds (issue 14, item 1), through the SDK and a follower.
func testGrantWidening(t *testing.T, c *cluster, root *kms.Client) {
	key, err := root.CreateKey(ctx10(t), &kms.CreateKeyInput{})
	if err != nil {
		t.Fatal(err)
	}
	id := key.KeyMetadata.KeyId
	ops := map[string]string{"team": "ops"}
	holder := newUser(t, c, c.creds, "holder", "")
	ctxHolder := newUser(t, c, c.creds, "ctxholder", "")
	for name, g := range map[string]*kms.CreateGrantInput{
		"holder":    {Operations: []types.GrantOperation{"CreateGrant"}},
		"ctxholder": {Operations: []types.GrantOperation{"CreateGrant", "Decrypt"}, Constraints: &types.GrantConstraints{EncryptionContextEquals: ops}},
	} {
		g.KeyId, g.GranteePrincipal = id, aws.String(userARN(name))
		if _, err := root.CreateGrant(ctx10(t), g); err != nil {
			t.Fatal(err)
		}
	}
	grant := func(as *kms.Client, grantee string, ops []types.GrantOperation, c *types.GrantConstraints) error {
		_, err := as.CreateGrant(ctx10(t), &kms.CreateGrantInput{KeyId: id, GranteePrincipal: aws.String(userARN(grantee)), Operations: ops, Constraints: c})
		return err
	}
	checkAllowed(t, "a CreateGrant-only grantee granting itself Decrypt and Encrypt",
		grant(holder, "holder", []types.GrantOperation{"Decrypt", "Encrypt", "GenerateDataKey"}, nil), false)
	checkAllowed(t, "an Equals grantee issuing Subset of its context",
		grant(ctxHolder, "ctxholder", []types.GrantOperation{"Decrypt"}, &types.GrantConstraints{EncryptionContextSubset: ops}), false)
	checkAllowed(t, "an Equals grantee issuing no constraint",
		grant(ctxHolder, "ctxholder", []types.GrantOperation{"Decrypt"}, nil), false)
	checkAllowed(t, "an Equals grantee passing on what it holds",
		grant(ctxHolder, "none", []types.GrantOperation{"Decrypt"}, &types.GrantConstraints{EncryptionContextEquals: ops}), true)
	_, err = holder.Encrypt(ctx10(t), &kms.EncryptInput{KeyId: id, Plaintext: []byte("x")})
	checkAllowed(t, "Encrypt by the CreateGrant-only grantee after its refused grant", err, false)
	list, err := root.ListGrants(ctx10(t), &kms.ListGrantsInput{KeyId: id})
	if err != nil || len(list.Grants) != 3 {
		t.Fatalf("ListGrants after the refused grants: %v, %d grants, want 3", err, len(list.Grants))
	}
}

// testResourcePolicies: IAM and operator actions are decided against the
// ARN of what they act on (issue 14, item 7).
func testResourcePolicies(t *testing.T, c *cluster) {
	api := c.nodes[1].api
	if err := iamCmd(t, api, c.creds, nil, "create-user", "breakglass"); err != nil {
		t.Fatal(err)
	}
	admin := newUserKey(t, c, c.creds, "iamadmin", doc(
		`{"Effect":"Allow","Action":"iam:*","Resource":"*"}`,
		`{"Effect":"Deny","Action":"iam:*","Resource":"`+userARN("breakglass")+`"}`))
	err := iamCmd(t, api, admin, nil, "create-access-key", "breakglass")
	if err == nil || !strings.Contains(err.Error(), "AccessDenied") || !strings.Contains(err.Error(), "explicit deny") {
		t.Fatalf("an admin denied iam:* on breakglass created its access key: %v", err)
	}
	var keys struct {
		AccessKeyMetadata []any `json:"access_key_metadata"`
	}
	if err := iamCmd(t, api, c.creds, &keys, "list-access-keys", "breakglass"); err != nil || len(keys.AccessKeyMetadata) != 0 {
		t.Fatalf("breakglass's access keys after the refusal: %v %v", err, keys.AccessKeyMetadata)
	}
	if err := iamCmd(t, api, admin, nil, "create-user", "ordinary"); err != nil {
		t.Fatalf("the admin on another user: %v", err)
	}
	if err := iamCmd(t, api, admin, nil, "create-access-key", "ordinary"); err != nil {
		t.Fatalf("the admin on another user: %v", err)
	}

	self := newUserKey(t, c, c.creds, "rotator", doc(`{"Effect":"Allow","Action":"iam:CreateAccessKey","Resource":"`+userARN("rotator")+`"}`))
	var ak struct {
		ID     string `json:"access_key_id"`
		Secret string `json:"secret_access_key"`
	}
	if err := iamCmd(t, api, self, &ak, "create-access-key"); err != nil || ak.ID == "" {
		t.Fatalf("iam:CreateAccessKey on the caller's own ARN, no user named: %v", err)
	}
	issuedSecrets = append(issuedSecrets, ak.Secret)
	if err := iamCmd(t, api, initOutput{AccessKeyID: ak.ID, SecretAccessKey: ak.Secret}, nil, "create-access-key", "ordinary"); err == nil || !strings.Contains(err.Error(), "AccessDenied") {
		t.Fatalf("the new key of a user allowed only its own keys made one for another: %v", err)
	}

	// Operator actions: a node is arn:aws:keyraft:REGION:ACCOUNT:node/ID,
	// the audit log the cluster's, arn:aws:keyraft:REGION:ACCOUNT:cluster.
	victim := c.nodes[2]
	nodeARN := "arn:aws:keyraft:us-east-1:" + account + ":node/" + victim.id
	opsAdmin := newUserKey(t, c, c.creds, "opsadmin", doc(
		`{"Effect":"Allow","Action":"keyraft:*","Resource":"*"}`,
		`{"Effect":"Deny","Action":["keyraft:Seal","keyraft:RemovePeer"],"Resource":"`+nodeARN+`"}`))
	nodeReader := newUserKey(t, c, c.creds, "nodereader", doc(`{"Effect":"Allow","Action":"keyraft:ReadAuditLog","Resource":"`+nodeARN+`"}`))
	sealer := newUserKey(t, c, c.creds, "nodesealer", doc(`{"Effect":"Allow","Action":"keyraft:Seal","Resource":"`+nodeARN+`"}`))
	reader := newUserKey(t, c, c.creds, "clusterreader", doc(`{"Effect":"Allow","Action":"keyraft:ReadAuditLog","Resource":"arn:aws:keyraft:*:`+account+`:cluster"}`))
	// A node decides operator calls by its own copy of the users: once it
	// has reader's policy, the last written, it has the others'.
	for _, p := range []*proc{victim, c.nodes[1]} {
		waitFor(t, 10*time.Second, p.id+" to allow keyraft:ReadAuditLog on the cluster's ARN", func() (bool, error) {
			out, err := auditCLIAs(p.api, reader, "verify").CombinedOutput()
			if err != nil {
				return false, fmt.Errorf("%v: %s", err, out)
			}
			return true, nil
		})
	}
	if err := operatorAs(t, victim.api, opsAdmin, nil, "seal"); err == nil || !strings.Contains(err.Error(), "keyraft:Seal on resource: "+nodeARN+" with an explicit deny") {
		t.Fatalf("seal of a node denied by ARN: %v", err)
	}
	if err := operatorAs(t, api, opsAdmin, nil, "raft", "remove-peer", victim.id); err == nil || !strings.Contains(err.Error(), "keyraft:RemovePeer on resource: "+nodeARN+" with an explicit deny") {
		t.Fatalf("remove-peer of a node denied by ARN: %v", err)
	}
	if st, err := status(t, victim.api); err != nil || st.Sealed {
		t.Fatalf("after refused seal and removal: %v %+v", err, st)
	}
	if out, err := auditCLIAs(victim.api, nodeReader, "verify").CombinedOutput(); err == nil || !strings.Contains(string(out), "keyraft:ReadAuditLog") {
		t.Fatalf("audit verify with keyraft:ReadAuditLog on a node's ARN only: %v: %s", err, out)
	}
	if err := operatorAs(t, c.nodes[1].api, sealer, nil, "seal"); err == nil || !strings.Contains(err.Error(), "keyraft:Seal") {
		t.Fatalf("a principal allowed to seal %s sealed %s: %v", victim.id, c.nodes[1].id, err)
	}
	if err := operatorAs(t, victim.api, sealer, nil, "seal"); err != nil {
		t.Fatalf("a principal allowed keyraft:Seal on %s: %v", nodeARN, err)
	}
	c.unseal(victim)
}
