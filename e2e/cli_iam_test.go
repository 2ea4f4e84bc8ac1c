package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCLIIAMDeleteUserAndPolicies: `iam list-user-policies`,
// `delete-user-policy` and `delete-user` through the CLI: a user with an
// access key or a policy is refused with DeleteConflict, and goes once
// they are gone; each is authorised per user and audited.
func TestCLIIAMDeleteUserAndPolicies(t *testing.T) {
	api, _, _ := devNode(t)
	root := credsFor(api)
	iam := func(creds initOutput, out any, args ...string) error {
		t.Helper()
		return iamCmd(t, api, creds, out, args...)
	}
	policyFile := func(name, doc string) string {
		f := filepath.Join(t.TempDir(), name+".json")
		if err := os.WriteFile(f, []byte(doc), 0o600); err != nil {
			t.Fatal(err)
		}
		return f
	}
	mustOK := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	mustFail := func(err error, want string) {
		t.Helper()
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("got %v, want an error with %q", err, want)
		}
	}
	mustOK(iam(root, nil, "create-user", "alice"))
	var ak struct {
		ID     string `json:"access_key_id"`
		Secret string `json:"secret_access_key"`
	}
	mustOK(iam(root, &ak, "create-access-key", "alice"))
	issuedSecrets = append(issuedSecrets, ak.Secret)
	alice := initOutput{AccessKeyID: ak.ID, SecretAccessKey: ak.Secret}
	// alice may list her own policies and nothing else.
	self := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:ListUserPolicies","Resource":"` + userARN("alice") + `"}]}`
	mustOK(iam(root, nil, "put-user-policy", "-policy-name", "self", "alice", policyFile("self", self)))
	mustOK(iam(root, nil, "put-user-policy", "-policy-name", "extra", "alice", policyFile("extra", self)))

	var pols struct {
		PolicyNames []string `json:"policy_names"`
	}
	mustOK(iam(alice, &pols, "list-user-policies", "alice"))
	if strings.Join(pols.PolicyNames, ",") != "extra,self" {
		t.Fatalf("alice's policies: %v", pols.PolicyNames)
	}
	mustFail(iam(alice, nil, "delete-user-policy", "-policy-name", "extra", "alice"), "AccessDenied")
	mustFail(iam(alice, nil, "delete-user", "alice"), "AccessDenied")
	mustFail(iam(root, nil, "list-user-policies", "nobody"), "NoSuchEntity")
	mustFail(iam(root, nil, "delete-user-policy", "-policy-name", "nope", "alice"), "NoSuchEntity")

	// Refused while she has a key or a policy, as IAM does.
	mustFail(iam(root, nil, "delete-user", "alice"), "DeleteConflict")
	mustOK(iam(root, nil, "delete-access-key", "-user", "alice", ak.ID))
	mustFail(iam(root, nil, "delete-user", "alice"), "DeleteConflict")
	mustOK(iam(root, nil, "delete-user-policy", "-policy-name", "extra", "alice"))
	mustOK(iam(root, &pols, "list-user-policies", "alice"))
	if strings.Join(pols.PolicyNames, ",") != "self" {
		t.Fatalf("alice's policies after deleting extra: %v", pols.PolicyNames)
	}
	mustOK(iam(root, nil, "delete-user-policy", "-policy-name", "self", "alice"))
	mustOK(iam(root, nil, "delete-user", "alice"))
	mustFail(iam(root, nil, "delete-user", "alice"), "NoSuchEntity")
	var users struct {
		Users []map[string]any `json:"users"`
	}
	mustOK(iam(root, &users, "list-users"))
	if len(users.Users) != 0 {
		t.Fatalf("users after delete-user: %v", users.Users)
	}
	// The name is free again.
	mustOK(iam(root, nil, "create-user", "alice"))

	// Each change is an event; the refused delete-user too.
	names := map[string]int{}
	for _, ev := range auditEvents(t, api, "") {
		n, _ := ev["eventName"].(string)
		names[n]++
	}
	if names["DeleteUser"] < 4 || names["DeleteUserPolicy"] < 2 {
		t.Fatalf("audit events: %v", names)
	}
}
