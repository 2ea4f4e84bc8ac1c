package e2e

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// awsCLI runs the real `aws` CLI with the dev node's exports.
func awsCLI(t *testing.T, env []string, args ...string) (map[string]any, string, error) {
	t.Helper()
	path, err := exec.LookPath("aws")
	if err != nil {
		t.Fatal("the AWS CLI is not on PATH: .ci/run installs it (apt-get install awscli) when missing")
	}
	cmd := exec.Command(path, append([]string{"kms"}, args...)...)
	cmd.Env = append(append(os.Environ(), "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "AWS_MAX_ATTEMPTS=1"), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, stderr.String(), err
	}
	var out map[string]any
	if s := bytes.TrimSpace(stdout.Bytes()); len(s) > 0 {
		if err := json.Unmarshal(s, &out); err != nil {
			t.Fatalf("aws %s: not JSON: %s", strings.Join(args, " "), s)
		}
	}
	return out, stderr.String(), nil
}

// TestAWSCLIAgainstDevNode drives the real `aws` CLI against `keyraft server -dev`
// exactly as the banner tells a newcomer to.
func TestAWSCLIAgainstDevNode(t *testing.T) {
	api, env, share := devNode(t)
	must := func(args ...string) map[string]any {
		t.Helper()
		out, stderr, err := awsCLI(t, env, args...)
		if err != nil {
			t.Fatalf("aws kms %s: %v\n%s", strings.Join(args, " "), err, stderr)
		}
		return out
	}
	// The dev node set itself up without operator calls; its log still
	// begins with that setup, as a cluster's does.
	var names []any
	for _, ev := range auditEvents(t, api, "") {
		names = append(names, ev["eventName"])
	}
	if len(names) < 2 || names[0] != "OperatorInit" || names[1] != "OperatorUnseal" {
		t.Fatalf("a dev node's log begins %v, want OperatorInit, OperatorUnseal", names)
	}
	created := must("create-key", "--description", "cli test")
	md := created["KeyMetadata"].(map[string]any)
	keyID := md["KeyId"].(string)
	if md["KeyState"] != "Enabled" || md["Description"] != "cli test" {
		t.Fatalf("create-key: %v", md)
	}
	if d := must("describe-key", "--key-id", md["Arn"].(string)); d["KeyMetadata"].(map[string]any)["KeyId"] != keyID {
		t.Fatalf("describe-key by ARN: %v", d)
	}
	listed := must("list-keys")
	if keys := listed["Keys"].([]any); len(keys) != 1 || keys[0].(map[string]any)["KeyId"] != keyID {
		t.Fatalf("list-keys: %v", listed)
	}

	dir := t.TempDir()
	plainFile := filepath.Join(dir, "plain")
	if err := os.WriteFile(plainFile, []byte("secret\x00bytes"), 0o600); err != nil {
		t.Fatal(err)
	}
	enc := must("encrypt", "--key-id", keyID, "--plaintext", "fileb://"+plainFile, "--encryption-context", "app=cli,env=test")
	blob, _ := base64.StdEncoding.DecodeString(enc["CiphertextBlob"].(string))
	blobFile := filepath.Join(dir, "blob")
	if err := os.WriteFile(blobFile, blob, 0o600); err != nil {
		t.Fatal(err)
	}
	dec := must("decrypt", "--ciphertext-blob", "fileb://"+blobFile, "--encryption-context", "env=test,app=cli")
	if pt, _ := base64.StdEncoding.DecodeString(dec["Plaintext"].(string)); string(pt) != "secret\x00bytes" {
		t.Fatalf("decrypt gave %q", pt)
	}
	if _, stderr, err := awsCLI(t, env, "decrypt", "--ciphertext-blob", "fileb://"+blobFile, "--encryption-context", "app=cli"); err == nil || !strings.Contains(stderr, "InvalidCiphertextException") {
		t.Fatalf("decrypt with the wrong context: %v %s", err, stderr)
	}
	dk := must("generate-data-key", "--key-id", keyID, "--key-spec", "AES_256")
	if pt, _ := base64.StdEncoding.DecodeString(dk["Plaintext"].(string)); len(pt) != 32 {
		t.Fatalf("generate-data-key: %d bytes", len(pt))
	}

	// Sealed, the node refuses crypto with the retryable error; unsealed, it serves again.
	if err := operator(t, api, nil, "seal"); err != nil {
		t.Fatal(err)
	}
	if _, stderr, err := awsCLI(t, env, "encrypt", "--key-id", keyID, "--plaintext", "fileb://"+plainFile); err == nil || !strings.Contains(stderr, "ServiceUnavailableException") {
		t.Fatalf("encrypt on a sealed node: %v %s", err, stderr)
	}
	if err := operator(t, api, nil, "unseal", share); err != nil {
		t.Fatal(err)
	}
	must("decrypt", "--ciphertext-blob", "fileb://"+blobFile, "--encryption-context", "app=cli,env=test")

	if _, stderr, err := awsCLI(t, append(env, "AWS_SECRET_ACCESS_KEY=wrong"), "list-keys"); err == nil || !strings.Contains(stderr, "InvalidSignatureException") {
		t.Fatalf("a wrong secret was accepted: %v %s", err, stderr)
	}
}

// TestAWSCLIScript runs scripts/test-aws-cli.sh: the key lifecycle through
// the real `aws` CLI with --endpoint-url.
func TestAWSCLIScript(t *testing.T) {
	if _, err := exec.LookPath("aws"); err != nil {
		t.Fatal("the AWS CLI is not on PATH: .ci/run installs it (apt-get install awscli) when missing")
	}
	cmd := exec.Command("bash", "../scripts/test-aws-cli.sh", binary)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("scripts/test-aws-cli.sh: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "PASS: aws CLI key lifecycle") {
		t.Fatalf("script did not report PASS:\n%s", out)
	}
}
