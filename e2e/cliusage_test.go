package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

// runCLI runs the keyraft binary with args and no credentials, and returns
// its exit status, stdout and stderr.
func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Env = signingEnv(initOutput{})
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode(), stdout.String(), stderr.String()
	} else if err != nil {
		t.Fatalf("keyraft %v: %v", args, err)
	}
	return 0, stdout.String(), stderr.String()
}

// TestCLIHelp: `keyraft <cmd> -h` prints that command's own usage, with
// its positional arguments, on stdout and exits 0; each default is shown
// once; an unknown flag still exits 2 with the usage on stderr.
func TestCLIHelp(t *testing.T) {
	for _, c := range []struct {
		args []string
		want []string // in the usage
	}{
		{[]string{"server", "-h"}, []string{"Usage: keyraft server", "-log-format", "-api-addr", `(default "127.0.0.1:8200")`, "-autopilot-dead-server-cleanup", "-autopilot-min-quorum"}},
		{[]string{"operator", "init", "-h"}, []string{"Usage: keyraft operator init", "-key-shares"}},
		{[]string{"operator", "unseal", "-h"}, []string{"Usage: keyraft operator unseal [flags] SHARE", "-reset", "-all"}},
		{[]string{"operator", "seal", "-h"}, []string{"Usage: keyraft operator seal"}},
		{[]string{"operator", "status", "--help"}, []string{"Usage: keyraft operator status"}},
		{[]string{"operator", "health", "-h"}, []string{"Usage: keyraft operator health", "-standbyok", "-sealedcode", "(default 503)"}},
		{[]string{"operator", "raft", "list-peers", "-h"}, []string{"Usage: keyraft operator raft list-peers"}},
		{[]string{"operator", "raft", "remove-peer", "-help"}, []string{"Usage: keyraft operator raft remove-peer [flags] NODE_ID"}},
		{[]string{"operator", "raft", "autopilot", "-h"}, []string{"Usage: keyraft operator raft autopilot state|get-config", "keyraft:ReadAutopilotState"}},
		{[]string{"operator", "raft", "autopilot", "state", "-h"}, []string{"Usage: keyraft operator raft autopilot state", "keyraft:ReadAutopilotState"}},
		{[]string{"operator", "raft", "autopilot", "get-config", "-h"}, []string{"Usage: keyraft operator raft autopilot get-config"}},
		{[]string{"operator", "raft", "snapshot", "save", "-h"}, []string{"Usage: keyraft operator raft snapshot save [flags] FILE", "keyraft:Snapshot"}},
		{[]string{"operator", "raft", "snapshot", "restore", "-h"}, []string{"Usage: keyraft operator raft snapshot restore [flags] FILE", "-force"}},
		{[]string{"operator", "raft", "snapshot", "inspect", "-h"}, []string{"Usage: keyraft operator raft snapshot inspect [flags] FILE"}},
		{[]string{"operator", "rekey", "-h"}, []string{"Usage: keyraft operator rekey -init -key-shares N -key-threshold T [-verify]", "[-nonce NONCE] [flags] SHARE", "-cancel", "-status", "keyraft:Rekey"}},
		{[]string{"operator", "rotate", "-h"}, []string{"Usage: keyraft operator rotate", "keyraft:RotateKeyring", "reseal_remaining"}},
		{[]string{"operator", "tls-gen", "-h"}, []string{"Usage: keyraft operator tls-gen", "-nodes"}},
		{[]string{"operator", "gossip-keygen", "-h"}, []string{"Usage: keyraft operator gossip-keygen", "-out"}},
		{[]string{"iam", "create-user", "-h"}, []string{"Usage: keyraft iam create-user [flags] NAME"}},
		{[]string{"iam", "delete-user", "-h"}, []string{"Usage: keyraft iam delete-user [flags] NAME", "DeleteConflict"}},
		{[]string{"iam", "put-user-policy", "-h"}, []string{"Usage: keyraft iam put-user-policy [flags] NAME FILE", "-policy-name"}},
		{[]string{"iam", "create-access-key", "-h"}, []string{"Usage: keyraft iam create-access-key [flags] [NAME]"}},
		{[]string{"iam", "delete-access-key", "-h"}, []string{"ACCESS_KEY_ID", "-user"}},
		{[]string{"iam", "list-user-policies", "-h"}, []string{"Usage: keyraft iam list-user-policies [flags] NAME"}},
		{[]string{"iam", "delete-user-policy", "-h"}, []string{"Usage: keyraft iam delete-user-policy [flags] NAME"}},
		{[]string{"audit", "tail", "-h"}, []string{"Usage: keyraft audit tail", "-n", "-f"}},
		{[]string{"audit", "export", "-h"}, []string{"Usage: keyraft audit export", "-since"}},
		{[]string{"audit", "verify", "-h"}, []string{"Usage: keyraft audit verify", "-data-dir"}},
		{[]string{"bench", "-h"}, []string{"Usage: keyraft bench", "-endpoint", "sign, verify, generate-mac or verify-mac", "-key-spec", "ECC_NIST_EDWARDS25519", "HMAC_384"}},
		{[]string{"-h"}, []string{"Usage: keyraft <command>", "operator health", "version"}},
		{[]string{"operator", "-h"}, []string{"operator init"}},
		{[]string{"iam", "-h"}, []string{"delete-user NAME", "list-user-policies NAME"}},
		{[]string{"audit", "-h"}, []string{"audit tail"}},
	} {
		exit, stdout, stderr := runCLI(t, c.args...)
		if exit != 0 {
			t.Errorf("keyraft %s: exit %d, want 0\n%s%s", strings.Join(c.args, " "), exit, stdout, stderr)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(stdout, w) {
				t.Errorf("keyraft %s: usage lacks %q:\n%s", strings.Join(c.args, " "), w, stdout)
			}
		}
		// Every default once: the flag package appends it; a description
		// that also spells it out would show it twice.
		for _, line := range strings.Split(stdout, "\n") {
			if strings.Count(line, "(default") > 1 || (strings.Contains(line, "(default") && strings.Contains(strings.ToLower(strings.Split(line, "(default")[0]), "default ")) {
				t.Errorf("keyraft %s: a default shown twice: %q", strings.Join(c.args, " "), line)
			}
		}
	}
	// A refused command line is still exit 2, with the usage on stderr.
	for _, args := range [][]string{{"operator", "unseal", "-nope"}, {"server", "-nope"}, {"iam", "create-user", "-nope", "x"}, {"nope"}, {"operator", "raft", "autopilot", "nope"}} {
		exit, _, stderr := runCLI(t, args...)
		if exit != 2 || !strings.Contains(stderr, "Usage: keyraft") {
			t.Errorf("keyraft %s: exit %d, want 2 with usage on stderr:\n%s", strings.Join(args, " "), exit, stderr)
		}
	}
}

// TestCLIVersion: `keyraft version` and `-version` print one version, the
// one a node reports.
func TestCLIVersion(t *testing.T) {
	var got []string
	for _, args := range [][]string{{"version"}, {"-version"}, {"--version"}} {
		exit, stdout, _ := runCLI(t, args...)
		if exit != 0 || !regexp.MustCompile(`^keyraft 0\.\d+\.\d+\S*( \([0-9a-f]{12}(\+dirty)?\))?\n$`).MatchString(stdout) {
			t.Fatalf("keyraft %s: exit %d, %q", args[0], exit, stdout)
		}
		got = append(got, stdout)
	}
	if got[0] != got[1] || got[1] != got[2] {
		t.Fatalf("versions differ: %q", got)
	}
	api, _, _ := devNode(t)
	var st map[string]any
	if err := getJSON(ctx10(t), api, "/v1/sys/seal-status", func(d *json.Decoder) error { return d.Decode(&st) }); err != nil {
		t.Fatal(err)
	}
	if want := strings.TrimSuffix(strings.TrimPrefix(got[0], "keyraft "), "\n"); st["version"] != want {
		t.Fatalf("seal-status version %v, CLI %q", st["version"], want)
	}
}

// TestCLIAddressAndSchemeErrors: -address takes host:port; a wrong scheme
// or a closed port is answered with what to check.
func TestCLIAddressAndSchemeErrors(t *testing.T) {
	k := tlsGen(t, "n1")
	c := startOneNode(t, 1, 1, func(p *proc) { p.secure(k, gossipKeygen(t)) })
	p := c.nodes[0]
	host := strings.TrimPrefix(p.api, "https://")
	// http:// (or a bare host:port) to the HTTPS listener.
	for _, addr := range []string{"http://" + host, host} {
		exit, _, stderr := runCLI(t, "operator", "status", "-address", addr)
		if exit != 1 || !strings.Contains(stderr, "serves HTTPS") || !strings.Contains(stderr, "https://"+host) {
			t.Errorf("status -address %s on an HTTPS node: exit %d\n%s", addr, exit, stderr)
		}
	}
	// Without its CA the certificate is not trusted: say where to give it.
	exit, _, stderr := runCLI(t, "operator", "status", "-address", p.api)
	if exit != 1 || !strings.Contains(stderr, "-ca-file") {
		t.Errorf("status without the CA: exit %d\n%s", exit, stderr)
	}
	exit, stdout, stderr := runCLI(t, "operator", "status", "-address", p.api, "-ca-file", k.caFile(), "-format", "json")
	if exit != 0 || !strings.Contains(stdout, `"initialized": true`) {
		t.Errorf("status with https:// and the CA: exit %d\n%s%s", exit, stdout, stderr)
	}
	// https:// to a plain HTTP listener (a dev node).
	api, _, _, dev := devNodeProc(t)
	plain := strings.TrimPrefix(api, "http://")
	// Its banner exports KEYRAFT_ADDR for the keyraft CLI too.
	if banner, err := os.ReadFile(dev.outPath); err != nil || !strings.Contains(string(banner), "\nexport KEYRAFT_ADDR="+api+"\n") {
		t.Errorf("the dev banner does not export KEYRAFT_ADDR=%s: %v\n%s", api, err, banner)
	}
	exit, _, stderr = runCLI(t, "operator", "status", "-address", "https://"+plain)
	if exit != 1 || !strings.Contains(stderr, "serves plain HTTP") || !strings.Contains(stderr, "http://"+plain) {
		t.Errorf("status -address https:// on an HTTP node: exit %d\n%s", exit, stderr)
	}
	exit, stdout, _ = runCLI(t, "operator", "status", "-address", plain, "-format", "json")
	if exit != 0 || !strings.Contains(stdout, `"sealed": false`) {
		t.Errorf("status -address host:port: exit %d\n%s", exit, stdout)
	}
	// Nothing there.
	closed := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	exit, _, stderr = runCLI(t, "operator", "status", "-address", closed)
	if exit != 1 || !strings.Contains(stderr, "nothing listens at http://"+closed) {
		t.Errorf("status on a closed port: exit %d\n%s", exit, stderr)
	}
	// A scheme that is neither.
	exit, _, stderr = runCLI(t, "operator", "status", "-address", "ftp://"+plain)
	if exit != 1 || !strings.Contains(stderr, "-address") {
		t.Errorf("status -address ftp://: exit %d\n%s", exit, stderr)
	}
}

// TestCLIRekeyRotateRefusals: `operator rekey` with two steps at once or
// an argument its step would drop, and `operator rotate` with arguments,
// exit 2 with the usage and send nothing: no rekey starts, no keyring
// term is added (read back from the node).
func TestCLIRekeyRotateRefusals(t *testing.T) {
	api, env, _ := devNode(t)
	run := func(args ...string) (int, string, string) {
		cmd := exec.Command(binary, append(args, "-address", api)...)
		cmd.Env = append(os.Environ(), env...)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode(), stdout.String(), stderr.String()
		} else if err != nil {
			t.Fatalf("keyraft %v: %v", args, err)
		}
		return 0, stdout.String(), stderr.String()
	}
	state := func() (term any, started any) {
		var st, rk map[string]any
		for _, c := range []struct {
			args []string
			out  *map[string]any
		}{{[]string{"operator", "status", "-format", "json"}, &st}, {[]string{"operator", "rekey", "-status", "-format", "json"}, &rk}} {
			exit, stdout, stderr := run(c.args...)
			if exit != 0 || json.Unmarshal([]byte(stdout), c.out) != nil {
				t.Fatalf("keyraft %v: exit %d\n%s%s", c.args, exit, stdout, stderr)
			}
		}
		return st["keyring_term"], rk["started"]
	}
	term, started := state()
	if term == nil || started != false {
		t.Fatalf("before: keyring_term %v, rekey started %v", term, started)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"operator", "rekey", "-status", "-init"}, "-init and -status are exclusive"},
		{[]string{"operator", "rekey", "-cancel", "-init"}, "-init and -cancel are exclusive"},
		{[]string{"operator", "rekey", "-status", "-cancel"}, "-cancel and -status are exclusive"},
		{[]string{"operator", "rekey", "-init", "-key-shares", "3", "-key-threshold", "2", "SHARE"}, "-init takes no argument"},
		{[]string{"operator", "rotate", "now", "please"}, "takes no argument, got 2"},
	} {
		exit, _, stderr := run(c.args...)
		if exit != 2 || !strings.Contains(stderr, c.want) || !strings.Contains(stderr, "Usage: keyraft "+c.args[0]+" "+c.args[1]) {
			t.Errorf("keyraft %s: exit %d, want 2 saying %q with the usage:\n%s", strings.Join(c.args, " "), exit, c.want, stderr)
		}
	}
	if term2, started2 := state(); term2 != term || started2 != false {
		t.Fatalf("after the refused commands: keyring_term %v (was %v), rekey started %v", term2, term, started2)
	}
}
