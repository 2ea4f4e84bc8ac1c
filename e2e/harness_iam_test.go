package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/kms"
)

// account is the AWS account id every test cluster runs as (the default).
const account = "111122223333"

// newUser creates an IAM user with an access key and, when policy is not
// empty, that inline identity policy; it returns a KMS client signing as it.
func newUser(t *testing.T, c *cluster, root initOutput, name, policy string) *kms.Client {
	t.Helper()
	// Users call through a follower or the leader alike: node 1 here.
	return kmsClient(c.nodes[1].api, newUserKey(t, c, root, name, policy), 3)
}

// newUserKey is newUser's user, as its access key.
func newUserKey(t *testing.T, c *cluster, root initOutput, name, policy string) initOutput {
	t.Helper()
	api := c.nodes[0].api
	if err := iamCmd(t, api, root, nil, "create-user", name); err != nil {
		t.Fatal(err)
	}
	var ak struct {
		ID     string `json:"access_key_id"`
		Secret string `json:"secret_access_key"`
	}
	if err := iamCmd(t, api, root, &ak, "create-access-key", name); err != nil {
		t.Fatal(err)
	}
	issuedSecrets = append(issuedSecrets, ak.Secret)
	if policy != "" {
		f := filepath.Join(t.TempDir(), name+".json")
		if err := os.WriteFile(f, []byte(policy), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := iamCmd(t, api, root, nil, "put-user-policy", name, f); err != nil {
			t.Fatal(err)
		}
	}
	return initOutput{AccessKeyID: ak.ID, SecretAccessKey: ak.Secret}
}

// issuedSecrets are the secret access keys newUser was shown: none may
// appear in the audit log.
var issuedSecrets []string

func userARN(name string) string { return "arn:aws:iam::" + account + ":user/" + name }

// stmt renders one policy statement; principal "" means none (identity policies).
func stmt(effect, principal, action, cond string) string {
	s := `{"Effect":"` + effect + `",`
	if principal != "" {
		s += `"Principal":` + principal + `,`
	}
	s += action + `,"Resource":"*"`
	if cond != "" {
		s += `,"Condition":` + cond
	}
	return s + "}"
}

func doc(stmts ...string) string {
	return `{"Version":"2012-10-17","Statement":[` + strings.Join(stmts, ",") + `]}`
}

func aws1(name string) string { return `{"AWS":"` + userARN(name) + `"}` }

// rootStmt is the default policy's statement that lets IAM policies decide.
var rootStmt = stmt("Allow", `{"AWS":"arn:aws:iam::`+account+`:root"}`, `"Action":"kms:*"`, "")
