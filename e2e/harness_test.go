package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/keyraft/keyraft/internal/testport"
	"github.com/keyraft/keyraft/server"
)

// binary is the keyraft executable built once for every test in this package.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "keyraft-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "keyraft")
	// The test knobs (-test-day-length, -test-clock-offset-file, ...)
	// exist only in a binary built with this tag.
	args := []string{"build", "-tags", "keyraft_testknobs", "-o", binary}
	if os.Getenv("KEYRAFT_TEST_RACE") != "" { // race-check the servers the tests start
		args = append(args, "-race")
	}
	out, err := exec.Command("go", append(args, "../cmd/keyraft")...).CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "build keyraft: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// freePort returns a loopback port for a server this test starts.
func freePort(t *testing.T) int { return testport.Take(t) }

// proc is one keyraft server process.
type proc struct {
	t       *testing.T
	id      string
	dataDir string
	args    []string
	api     string // http://127.0.0.1:port (https:// once secure)
	cluster string // 127.0.0.1:port of the gRPC listener
	raft    string // 127.0.0.1:port of the raft listener
	gossip  string
	cmd     *exec.Cmd
	logPath string
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

func (p *proc) start(join []string) {
	p.t.Helper()
	args := append(append([]string{}, p.args...), "-join", strings.Join(join, ","))
	logf, err := os.OpenFile(p.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		p.t.Fatal(err)
	}
	p.cmd = exec.Command(binary, args...)
	p.cmd.Stdout, p.cmd.Stderr = logf, logf
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

// apiCAs maps an https API URL to the CA file its clients must trust.
var apiCAs sync.Map

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

// apiCreds maps a node's API URL to its cluster's root access key, which
// init fills in: the audit helpers sign their reads with it, as the audit
// API requires.
var apiCreds sync.Map // string → *initOutput

// adopt registers p's API as one of c's.
func (c *cluster) adopt(p *proc) { apiCreds.Store(p.api, &c.creds) }

func credsFor(api string) initOutput {
	if v, ok := apiCreds.Load(api); ok {
		return *v.(*initOutput)
	}
	return initOutput{}
}

// signedAuditGet is a GET of an operator API path signed with the root
// access key of api's cluster, as `keyraft audit` signs it.
func signedAuditGet(api, path string) (*http.Request, error) {
	req, err := http.NewRequest(http.MethodGet, api+path, nil)
	if err != nil {
		return nil, err
	}
	creds := credsFor(api)
	sum := sha256.Sum256(nil)
	err = v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: creds.AccessKeyID, SecretAccessKey: creds.SecretAccessKey},
		req, hex.EncodeToString(sum[:]), server.OperatorSigningService, "us-east-1", time.Now())
	return req, err
}

// auditCLI is `keyraft audit SUB -address api ARGS...` run with the root
// access key of api's cluster in its environment.
func auditCLI(api, sub string, args ...string) *exec.Cmd {
	return auditCLIAs(api, credsFor(api), sub, args...)
}

// signingEnv is this process's environment with creds as the access key
// the CLI signs with (none when empty), in the cluster's region.
func signingEnv(creds initOutput) []string {
	return append(os.Environ(), "AWS_ACCESS_KEY_ID="+creds.AccessKeyID, "AWS_SECRET_ACCESS_KEY="+creds.SecretAccessKey, "AWS_REGION=us-east-1")
}

// auditCLIAs is auditCLI signing with creds (none when empty).
func auditCLIAs(api string, creds initOutput, sub string, args ...string) *exec.Cmd {
	args = append([]string{"audit", sub, "-address", api}, args...)
	if ca, ok := apiCAs.Load(api); ok {
		args = append(args, "-ca-file", ca.(string))
	}
	cmd := exec.Command(binary, args...)
	cmd.Env = signingEnv(creds)
	return cmd
}

// apiHTTPClient is an HTTP client that trusts the CA registered for api,
// or nil for a plain-HTTP node.
func apiHTTPClient(api string) *http.Client {
	ca, ok := apiCAs.Load(api)
	if !ok {
		return nil
	}
	pem, err := os.ReadFile(ca.(string))
	if err != nil {
		panic(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(pem)
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
	return &http.Client{Transport: tr}
}

// kill ends the process with SIGKILL: no graceful leave, no flush.
func (p *proc) kill() {
	p.t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		p.t.Fatal(err)
	}
	_ = p.cmd.Wait()
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

// operator runs `keyraft operator ARGS -address API -format json` as the
// root of API's cluster (once it has one) and decodes stdout.
func operator(t *testing.T, api string, out any, args ...string) error {
	t.Helper()
	return operatorAs(t, api, credsFor(api), out, args...)
}

// operatorAs is operator signing as creds' access key (unsigned when
// empty), as the CLI signs with the one in its environment.
func operatorAs(t *testing.T, api string, creds initOutput, out any, args ...string) error {
	t.Helper()
	args = append([]string{"operator"}, args...)
	args = append(args, "-address", api, "-format", "json")
	if ca, ok := apiCAs.Load(api); ok {
		args = append(args, "-ca-file", ca.(string))
	}
	cmd := exec.Command(binary, args...)
	cmd.Env = signingEnv(creds)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("keyraft operator %s: %v: %s", args[1], err, stderr.String())
	}
	if out != nil {
		if err := json.Unmarshal(stdout.Bytes(), out); err != nil {
			return fmt.Errorf("keyraft operator %s: bad JSON %q: %v", args[1], stdout.String(), err)
		}
	}
	return nil
}

type nodeStatus struct {
	Initialized bool   `json:"initialized"`
	Sealed      bool   `json:"sealed"`
	Progress    int    `json:"progress"`
	Threshold   int    `json:"threshold"`
	NodeID      string `json:"node_id"`
	LeaderID    string `json:"leader_id"`
	RaftIndex   uint64 `json:"raft_index"`
	Term        uint64 `json:"term"`
	Alarms      []struct {
		Alarm   string `json:"alarm"`
		NodeID  string `json:"node_id"`
		Message string `json:"message"`
	} `json:"alarms"`
}

// clockAlarm is the message of the node's CLOCK alarm, or "".
func (s nodeStatus) clockAlarm() string {
	for _, a := range s.Alarms {
		if a.Alarm == "CLOCK" && a.NodeID == s.NodeID {
			return a.Message
		}
	}
	return ""
}

func status(t *testing.T, api string) (nodeStatus, error) {
	var st nodeStatus
	err := operator(t, api, &st, "status")
	return st, err
}

// fullStatus is the status a principal sees, alarms included.
func fullStatus(t *testing.T, api string) (nodeStatus, error) { return status(t, api) }

// waitFor polls cond until it holds or the timeout passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() (bool, error)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var lastErr error
	for time.Now().Before(deadline) {
		ok, err := cond()
		if ok {
			return
		}
		lastErr = err
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("timed out after %s waiting for %s (last error: %v)", timeout, what, lastErr)
}

type initOutput struct {
	Keys            []string `json:"unseal_keys_b64"`
	Shares          int      `json:"unseal_shares"`
	Threshold       int      `json:"unseal_threshold"`
	AccessKeyID     string   `json:"access_key_id"`
	SecretAccessKey string   `json:"secret_access_key"`
}

// kmsClient is the real aws-sdk-go-v2 KMS client pointed at one node.
func kmsClient(api string, creds initOutput, attempts int) *kms.Client {
	opts := kms.Options{
		Region:           "us-east-1",
		BaseEndpoint:     aws.String(api),
		Credentials:      credentials.NewStaticCredentialsProvider(creds.AccessKeyID, creds.SecretAccessKey, ""),
		RetryMaxAttempts: attempts,
	}
	if hc := apiHTTPClient(api); hc != nil {
		opts.HTTPClient = hc
	}
	return kms.New(opts)
}

func ctxTimeout(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// auditEvents reads a node's committed audit log over the operator API.
func auditEvents(t *testing.T, api, query string) []map[string]any {
	t.Helper()
	evs, err := tryAuditEvents(api, query)
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

// tryAuditEvents is auditEvents for nodes that may not be up yet.
func tryAuditEvents(api, query string) ([]map[string]any, error) {
	hc := apiHTTPClient(api)
	if hc == nil {
		hc = http.DefaultClient
	}
	req, err := signedAuditGet(api, "/v1/sys/audit/events?"+query)
	if err != nil {
		return nil, err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return nil, fmt.Errorf("audit events of %s: HTTP %d: %s", api, resp.StatusCode, b)
	}
	defer resp.Body.Close()
	var out []map[string]any
	dec := json.NewDecoder(resp.Body)
	for dec.More() {
		var ev map[string]any
		if err := dec.Decode(&ev); err != nil {
			return nil, fmt.Errorf("audit events of %s: %v", api, err)
		}
		out = append(out, ev)
	}
	return out, nil
}
