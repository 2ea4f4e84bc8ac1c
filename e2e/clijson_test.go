package e2e

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"
)

// snakeKey is the one casing of every key the CLI prints as JSON.
var snakeKey = regexp.MustCompile(`^[a-z][a-z0-9]*(_[a-z0-9]+)*$`)

// badKeys lists the object keys of decoded JSON v, at any depth, that are
// not snake_case, with their paths.
func badKeys(v any, path string) []string {
	var bad []string
	switch t := v.(type) {
	case map[string]any:
		for k, val := range t {
			if !snakeKey.MatchString(k) {
				bad = append(bad, path+"."+k)
			}
			bad = append(bad, badKeys(val, path+"."+k)...)
		}
	case []any:
		for _, val := range t {
			bad = append(bad, badKeys(val, path+"[]")...)
		}
	}
	return bad
}

// TestCLIOutput: every command of the CLI that prints JSON (-format json)
// prints it in one casing, snake_case, whether it comes from the operator
// API (/v1/sys/) or from IAM (whose PascalCase wire shape `aws iam` still
// gets); audit events are CloudTrail records and keep CloudTrail's casing.
// And `operator raft snapshot save` and `restore` show their progress on a
// terminal and nothing when piped.
func TestCLIOutput(t *testing.T) {
	c := &cluster{t: t}
	p := newProc(t, "n1", 1)
	c.add(p)
	p.start(nil)
	c.waitUp(15 * time.Second)
	dir := t.TempDir()
	backup := filepath.Join(dir, "b.backup")
	policy := filepath.Join(dir, "p.json")
	if err := os.WriteFile(policy, []byte(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:Encrypt","Resource":"*"}]}`), 0o600); err != nil {
		t.Fatal(err)
	}

	t.Run("JSON in one casing", func(t *testing.T) {
		check := func(args ...string) map[string]any {
			t.Helper()
			var out any
			if args[1] == "health" {
				// health exits non-zero for any state but an active node's,
				// and still prints the node's answer.
				cmd := cli(p.api, credsFor(p.api), append(args, "-address", p.api, "-format", "json")...)
				b, _ := cmd.Output()
				if err := json.Unmarshal(b, &out); err != nil {
					t.Fatalf("keyraft operator health: %q: %v", b, err)
				}
			} else if err := cliJSON(p.api, credsFor(p.api), &out, args...); err != nil {
				t.Fatal(err)
			}
			m, ok := out.(map[string]any)
			if !ok {
				t.Fatalf("keyraft %s: printed %v, want a JSON object", strings.Join(args, " "), out)
			}
			if bad := badKeys(out, ""); len(bad) > 0 {
				t.Errorf("keyraft %s -format json: keys not in snake_case: %v", strings.Join(args, " "), bad)
			}
			return m
		}
		check("operator", "status") // sealed, not initialised: the public status
		check("operator", "health")
		var init map[string]any
		waitFor(t, 20*time.Second, "init", func() (bool, error) {
			init = nil
			err := cliJSON(p.api, initOutput{}, &init, "operator", "init", "-key-shares", "1", "-key-threshold", "1")
			return err == nil, err
		})
		if bad := badKeys(init, ""); len(bad) > 0 {
			t.Errorf("operator init -format json: keys not in snake_case: %v", bad)
		}
		b, _ := json.Marshal(init)
		if err := json.Unmarshal(b, &c.creds); err != nil || len(c.creds.Keys) != 1 {
			t.Fatalf("init output %s: %v", b, err)
		}
		check("operator", "status")
		check("operator", "unseal", c.creds.Keys[0])
		waitFor(t, 10*time.Second, "unsealed", func() (bool, error) { return publicReady(p) })
		check("operator", "status") // now the whole of it, signed
		check("operator", "health")
		check("operator", "raft", "list-peers")
		check("iam", "create-user", "casing")
		check("iam", "create-access-key", "casing")
		check("iam", "list-users")
		check("iam", "list-access-keys", "casing")
		check("iam", "put-user-policy", "-policy-name", "enc", "casing", policy)
		check("iam", "get-user-policy", "-policy-name", "enc", "casing")
		check("iam", "list-user-policies", "casing")
		check("audit", "verify")
		check("operator", "raft", "snapshot", "save", backup)
		check("operator", "raft", "snapshot", "inspect", backup)
		check("operator", "raft", "snapshot", "restore", backup)
		check("operator", "seal")
	})

	t.Run("snapshot progress on a terminal only", func(t *testing.T) {
		if st, err := status(t, p.api); err == nil && st.Sealed {
			c.unseal(p)
		}
		waitFor(t, 10*time.Second, "unsealed", func() (bool, error) { return publicReady(p) })
		run := func(onTTY bool, args ...string) (stdout, stderr string) {
			t.Helper()
			cmd := cli(p.api, c.creds, append(args, "-address", p.api)...)
			var out bytes.Buffer
			cmd.Stdout = &out
			if !onTTY {
				var errb bytes.Buffer
				cmd.Stderr = &errb
				if err := cmd.Run(); err != nil {
					t.Fatalf("%v: %v: %s", args, err, errb.String())
				}
				return out.String(), errb.String()
			}
			ptmx, tty, err := pty.Open()
			if err != nil {
				t.Fatalf("open a pty: %v", err)
			}
			defer ptmx.Close()
			cmd.Stderr = tty
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			tty.Close() // the child holds its own copy
			got := make(chan []byte, 1)
			go func() { b, _ := io.ReadAll(ptmx); got <- b }() // ends with EIO once the child exits
			if err := cmd.Wait(); err != nil {
				t.Fatalf("%v: %v", args, err)
			}
			select {
			case b := <-got:
				return out.String(), string(b)
			case <-time.After(10 * time.Second):
				t.Fatal("the pty did not close after the CLI exited")
			}
			return "", ""
		}
		for _, verb := range []string{"save", "restore"} {
			want := map[string]string{"save": "saving: ", "restore": "restoring: "}[verb]
			stdout, stderr := run(true, "operator", "raft", "snapshot", verb, backup)
			if !strings.Contains(stderr, want) || !strings.Contains(stderr, "(100%)") {
				t.Errorf("%s on a terminal: stderr %q, want its progress up to 100%%", verb, stderr)
			}
			if strings.Contains(stdout, want) {
				t.Errorf("%s: progress on stdout %q", verb, stdout)
			}
			stdout, stderr = run(false, "operator", "raft", "snapshot", verb, backup)
			if stderr != "" || !strings.Contains(stdout, map[string]string{"save": "Saved ", "restore": "Restored "}[verb]) {
				t.Errorf("%s piped: stdout %q, stderr %q; want no progress", verb, stdout, stderr)
			}
		}
	})
}
