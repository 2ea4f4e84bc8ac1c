package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// devNode starts `keyraft server -dev` and returns its API URL and the
// environment its banner told us to export.
func devNode(t *testing.T) (api string, env []string, share string) {
	t.Helper()
	api, env, share, _ = devNodeProc(t)
	return api, env, share
}

// devNodeProc is devNode with extra server flags, and its process.
func devNodeProc(t *testing.T, extra ...string) (api string, env []string, share string, p *proc) {
	t.Helper()
	dir := t.TempDir()
	p = &proc{t: t, id: "dev", logPath: filepath.Join(dir, "dev.log"), outPath: filepath.Join(dir, "dev.out")}
	ports := make([]int, 4)
	for i := range ports {
		ports[i] = freePort(t)
	}
	p.api = fmt.Sprintf("http://127.0.0.1:%d", ports[0])
	p.cluster = fmt.Sprintf("127.0.0.1:%d", ports[1])
	p.raft = fmt.Sprintf("127.0.0.1:%d", ports[2])
	p.gossip = fmt.Sprintf("127.0.0.1:%d", ports[3])
	p.args = append([]string{"server", "-dev", "-api-addr", strings.TrimPrefix(p.api, "http://"),
		"-cluster-addr", p.cluster, "-raft-addr", p.raft, "-gossip-addr", p.gossip}, extra...)
	// The node is killed at the end, before it can remove its temporary
	// data dir: make that dir inside the test's own, which is removed.
	p.env = []string{"TMPDIR=" + t.TempDir()}
	p.launch(nil, p.args)

	// The banner (stdout) ends with the exports once the node is
	// initialised and unsealed; only whole lines count.
	waitFor(t, 30*time.Second, "the dev server's exports", func() (bool, error) {
		if exited(p) {
			t.Fatal("dev server exited before printing its exports")
		}
		b, err := os.ReadFile(p.outPath)
		env, api, share = nil, "", ""
		lines := strings.Split(string(b), "\n")
		for _, l := range lines[:len(lines)-1] {
			if rest, ok := strings.CutPrefix(l, "export "); ok {
				env = append(env, rest)
				if v, ok := strings.CutPrefix(rest, "AWS_ENDPOINT_URL="); ok {
					api = v
				}
			}
			if v, ok := strings.CutPrefix(l, "Unseal share (already applied): "); ok {
				share = v
			}
		}
		return len(env) >= 4, err
	})
	env = env[:4]
	// Operator calls that need a principal (seal) sign with the exported
	// access key, as they would in the shell that pasted the exports.
	creds := &initOutput{}
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "AWS_ACCESS_KEY_ID="); ok {
			creds.AccessKeyID = v
		}
		if v, ok := strings.CutPrefix(kv, "AWS_SECRET_ACCESS_KEY="); ok {
			creds.SecretAccessKey = v
		}
	}
	apiCreds.Store(api, creds)
	return api, env, share, p
}

// exited reports whether p's process has ended (a zombie its parent has
// not waited for yet).
func exited(p *proc) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.cmd.Process.Pid))
	if err != nil {
		return true
	}
	// The state follows the command name, which is in parentheses.
	rest := b[strings.LastIndexByte(string(b), ')')+1:]
	f := strings.Fields(string(rest))
	return len(f) > 0 && (f[0] == "Z" || f[0] == "X")
}
