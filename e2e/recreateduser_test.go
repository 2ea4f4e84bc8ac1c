package e2e

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
)

// testRecreatedUser (F5): a user deleted and re-created under the same
// name does not inherit the grant the deleted user held (AWS binds a
// grant to the user's unique id), through the CLI, the SDK and a follower;
// ListGrants still names the ARN.
func testRecreatedUser(t *testing.T, c *cluster, root *kms.Client) {
	key, err := root.CreateKey(ctx10(t), &kms.CreateKeyInput{})
	if err != nil {
		t.Fatal(err)
	}
	id := key.KeyMetadata.KeyId
	ct, err := root.Encrypt(ctx10(t), &kms.EncryptInput{KeyId: id, Plaintext: []byte("payload")})
	if err != nil {
		t.Fatal(err)
	}
	first := newUserKey(t, c, c.creds, "phoenix", "")
	if _, err := root.CreateGrant(ctx10(t), &kms.CreateGrantInput{KeyId: id, GranteePrincipal: aws.String(userARN("phoenix")),
		Operations: []types.GrantOperation{"Decrypt"}}); err != nil {
		t.Fatal(err)
	}
	_, err = kmsClient(c.nodes[1].api, first, 3).Decrypt(ctx10(t), &kms.DecryptInput{CiphertextBlob: ct.CiphertextBlob})
	checkAllowed(t, "the grantee's Decrypt", err, true)

	api := c.nodes[0].api
	if err := iamCmd(t, api, c.creds, nil, "delete-access-key", "-user", "phoenix", first.AccessKeyID); err != nil {
		t.Fatal(err)
	}
	if err := iamCmd(t, api, c.creds, nil, "delete-user", "phoenix"); err != nil {
		t.Fatal(err)
	}
	again := newUser(t, c, c.creds, "phoenix", "")
	_, err = again.Decrypt(ctx10(t), &kms.DecryptInput{CiphertextBlob: ct.CiphertextBlob})
	checkAllowed(t, "the re-created user's Decrypt under the deleted user's grant", err, false)
	_, err = root.CreateGrant(ctx10(t), &kms.CreateGrantInput{KeyId: id, GranteePrincipal: aws.String(userARN("ghost")),
		Operations: []types.GrantOperation{"Decrypt"}})
	if apiCode(err) != "InvalidArnException" {
		t.Fatalf("a grant for a user that does not exist: %v, want InvalidArnException", err)
	}
	list, err := root.ListGrants(ctx10(t), &kms.ListGrantsInput{KeyId: id})
	if err != nil || len(list.Grants) != 1 || aws.ToString(list.Grants[0].GranteePrincipal) != userARN("phoenix") {
		t.Fatalf("ListGrants: %v, %+v; want the one grant, naming the ARN", err, list)
	}
}
