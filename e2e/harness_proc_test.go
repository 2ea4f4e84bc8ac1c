package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/keyraft/keyraft/internal/testport"
)

// freePort returns a loopback port for a server this test starts.
func freePort(t *testing.T) int { return testport.Take(t) }

// proc is one keyraft server process: its flags, listeners and log. Every
// process a test starts is stopped by its PID when the test ends.
type proc struct {
	t       *testing.T
	id      string
	dataDir string
	args    []string
	env     []string // added to this process's environment
	api     string   // http://127.0.0.1:port (https:// once secure)
	cluster string   // 127.0.0.1:port of the gRPC listener
	raft    string   // 127.0.0.1:port of the raft listener
	gossip  string
	cmd     *exec.Cmd
	logPath string // stderr, and stdout unless outPath is set
	outPath string // stdout, when kept apart from the log
}

func newProc(t *testing.T, id string, expect int) *proc {
	p := &proc{t: t, id: id, dataDir: filepath.Join(t.TempDir(), id)}
	api, cl, rf, gs := freePort(t), freePort(t), freePort(t), freePort(t)
	p.api = fmt.Sprintf("http://127.0.0.1:%d", api)
	p.gossip = fmt.Sprintf("127.0.0.1:%d", gs)
	p.cluster, p.raft = fmt.Sprintf("127.0.0.1:%d", cl), fmt.Sprintf("127.0.0.1:%d", rf)
	p.args = []string{"server", "-node-id", id, "-data-dir", p.dataDir,
		"-api-addr", fmt.Sprintf("127.0.0.1:%d", api), "-cluster-addr", p.cluster,
		"-raft-addr", p.raft, "-gossip-addr", p.gossip,
		"-bootstrap-expect", fmt.Sprint(expect), "-log-level", "debug",
		// Plaintext until secure() gives the process its certificates.
		"-insecure"}
	p.logPath = filepath.Join(t.TempDir(), id+".log")
	return p
}

// start runs the server, joining the gossip addresses in join.
func (p *proc) start(join []string) {
	p.t.Helper()
	p.launch(nil, append(append([]string{}, p.args...), "-join", strings.Join(join, ",")))
}

// startUnder runs the server under a wrapper command (prlimit ...), with
// no -join.
func (p *proc) startUnder(wrapper ...string) {
	p.t.Helper()
	p.launch(wrapper, p.args)
}

// launch starts binary with args, under wrapper when there is one, its
// output appended to p's log; at the end of the test it is killed if still
// running, its log checked for data races and shown if the test failed.
func (p *proc) launch(wrapper, args []string) {
	p.t.Helper()
	logf, err := os.OpenFile(p.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		p.t.Fatal(err)
	}
	defer logf.Close() // the child holds its own copy
	argv := append(append(append([]string{}, wrapper...), binary), args...)
	p.cmd = exec.Command(argv[0], argv[1:]...)
	p.cmd.Stdout, p.cmd.Stderr = logf, logf
	if p.outPath != "" {
		outf, err := os.OpenFile(p.outPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			p.t.Fatal(err)
		}
		defer outf.Close() // the child holds its own copy
		p.cmd.Stdout = outf
	}
	if p.env != nil {
		p.cmd.Env = append(os.Environ(), p.env...)
	}
	if err := p.cmd.Start(); err != nil {
		p.t.Fatal(err)
	}
	cmd := p.cmd
	p.t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
		b, _ := os.ReadFile(p.logPath)
		if i := bytes.Index(b, []byte("WARNING: DATA RACE")); i >= 0 {
			p.t.Errorf("%s reported a data race:\n%s", p.id, b[i:min(len(b), i+6000)])
		}
		if p.t.Failed() {
			p.t.Logf("---- log of %s (last 4 KiB) ----\n%s", p.id, tail(b, 4096))
		}
	})
}

// errKeptRunning is runToRefusal's answer for a server that did not exit.
var errKeptRunning = errors.New("the server kept running until killed")

// runToRefusal runs the server with args in the foreground, under wrapper
// when there is one, for a test that expects it to refuse to start. It
// returns the server's output and exit error, or errKeptRunning once it
// has run for timeout (and was killed).
func runToRefusal(timeout time.Duration, args []string, wrapper ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	argv := append(append(append([]string{}, wrapper...), binary), args...)
	out, err := exec.CommandContext(ctx, argv[0], argv[1:]...).CombinedOutput()
	if ctx.Err() != nil {
		return out, errKeptRunning
	}
	return out, err
}

// kill ends the process with SIGKILL: no graceful leave, no flush.
func (p *proc) kill() {
	p.t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		p.t.Fatal(err)
	}
	_ = p.cmd.Wait()
}

func (p *proc) signal(sig syscall.Signal) {
	p.t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		p.t.Fatal(err)
	}
}

// waitUp waits until p answers its public status.
func (p *proc) waitUp(timeout time.Duration) {
	p.t.Helper()
	waitFor(p.t, timeout, p.id+" to answer", func() (bool, error) {
		_, err := status(p.t, p.api)
		return err == nil, err
	})
}

// setArg replaces the value of flag name in p's arguments, or adds it.
func (p *proc) setArg(name, value string) {
	for i, a := range p.args {
		if a == name && i+1 < len(p.args) {
			p.args[i+1] = value
			return
		}
	}
	p.args = append(p.args, name, value)
}

// secure serves p's API over HTTPS and runs its cluster and raft listeners
// under mutual TLS, all with p's certificate from k, and encrypts its gossip
// with gossipKey. The operator and kmsClient helpers then trust k's CA for p.
func (p *proc) secure(k *pki, gossipKey string) {
	cert, key := k.node(p.id)
	p.args = slices.DeleteFunc(p.args, func(a string) bool { return a == "-insecure" })
	p.args = append(p.args, "-tls-cert-file", cert, "-tls-key-file", key,
		"-cluster-ca-file", k.caFile(), "-cluster-cert-file", cert, "-cluster-key-file", key,
		"-gossip-key", gossipKey)
	p.api = strings.Replace(p.api, "http://", "https://", 1)
	apiCAs.Store(p.api, k.caFile())
}

// logCount is how many times line occurs in p's log.
func logCount(t *testing.T, p *proc, line string) int {
	t.Helper()
	b, err := os.ReadFile(p.logPath)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Count(b, []byte(line))
}

// logHas reports whether any of ps has logged every one of subs on one line.
func logHas(ps []*proc, subs ...string) (bool, error) {
	for _, p := range ps {
		b, err := os.ReadFile(p.logPath)
		if err != nil {
			return false, err
		}
		for _, line := range strings.Split(string(b), "\n") {
			all := true
			for _, s := range subs {
				all = all && strings.Contains(line, s)
			}
			if all {
				return true, nil
			}
		}
	}
	return false, nil
}

// pki is one `keyraft operator tls-gen` directory: a cluster CA and the
// certificates of some nodes.
type pki struct{ dir string }

func tlsGen(t *testing.T, nodes ...string) *pki {
	t.Helper()
	k := &pki{dir: filepath.Join(t.TempDir(), "tls")}
	if out, err := exec.Command(binary, "operator", "tls-gen", "-out", k.dir, "-nodes", strings.Join(nodes, ",")).CombinedOutput(); err != nil {
		t.Fatalf("tls-gen: %v\n%s", err, out)
	}
	return k
}

func (k *pki) caFile() string { return filepath.Join(k.dir, "ca.pem") }

// node is the certificate and key files of one node.
func (k *pki) node(id string) (cert, key string) {
	return filepath.Join(k.dir, id+".pem"), filepath.Join(k.dir, id+"-key.pem")
}

// gossipKeygen is a fresh key from `keyraft operator gossip-keygen`.
func gossipKeygen(t *testing.T) string {
	t.Helper()
	out, err := exec.Command(binary, "operator", "gossip-keygen").Output()
	if err != nil {
		t.Fatalf("gossip-keygen: %v", err)
	}
	return strings.TrimSpace(string(out))
}

// procStatusKB reads a "Name: N kB" line of /proc/PID/status.
func procStatusKB(t *testing.T, pid int, name string) int {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, name+":"); ok {
			n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatalf("no %s in /proc/%d/status", name, pid)
	return 0
}
