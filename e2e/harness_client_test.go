package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/smithy-go"

	operatorapi "github.com/keyraft/keyraft/operator"
)

// operatorService is the SigV4 service name the operator API checks; this
// is the package's one import of the server's.
const operatorService = operatorapi.SigningService

// Every client here finds what it needs to reach a node from the node's
// API URL: the CA to trust (secure) and the root access key of its cluster
// (init, through cluster.adopt).
var (
	apiCAs   sync.Map // string → CA file
	apiCreds sync.Map // string → *initOutput
)

func credsFor(api string) initOutput {
	if v, ok := apiCreds.Load(api); ok {
		return *v.(*initOutput)
	}
	return initOutput{}
}

type initOutput struct {
	Keys            []string `json:"unseal_keys_b64"`
	Shares          int      `json:"unseal_shares"`
	Threshold       int      `json:"unseal_threshold"`
	AccessKeyID     string   `json:"access_key_id"`
	SecretAccessKey string   `json:"secret_access_key"`
}

// signingEnv is this process's environment with creds as the access key
// the CLI signs with (none when empty), in the cluster's region.
func signingEnv(creds initOutput) []string {
	return append(os.Environ(), "AWS_ACCESS_KEY_ID="+creds.AccessKeyID, "AWS_SECRET_ACCESS_KEY="+creds.SecretAccessKey, "AWS_REGION=us-east-1")
}

// cli is the keyraft CLI with args, signing as creds and trusting the CA
// registered for api.
func cli(api string, creds initOutput, args ...string) *exec.Cmd {
	if ca, ok := apiCAs.Load(api); ok {
		args = append(args, "-ca-file", ca.(string))
	}
	cmd := exec.Command(binary, args...)
	cmd.Env = signingEnv(creds)
	return cmd
}

// cliJSON runs `keyraft GROUP SUB ... -address API -format json` (args
// starts with GROUP and SUB) as creds' access key and decodes stdout into
// out.
func cliJSON(api string, creds initOutput, out any, args ...string) error {
	cmd := cli(api, creds, append(args, "-address", api, "-format", "json")...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("keyraft %s %s: %v: %s", args[0], args[1], err, stderr.String())
	}
	if out != nil {
		if err := json.Unmarshal(stdout.Bytes(), out); err != nil {
			return fmt.Errorf("keyraft %s %s: bad JSON %q: %v", args[0], args[1], stdout.String(), err)
		}
	}
	return nil
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
	return cliJSON(api, creds, out, append([]string{"operator"}, args...)...)
}

// iamCmd runs `keyraft iam ARGS -address API -format json` as the principal
// whose access key creds holds, and decodes stdout.
func iamCmd(t *testing.T, api string, creds initOutput, out any, args ...string) error {
	t.Helper()
	return cliJSON(api, creds, out, append([]string{"iam"}, args...)...)
}

// auditCLI is `keyraft audit SUB -address api ARGS...` run with the root
// access key of api's cluster in its environment.
func auditCLI(api, sub string, args ...string) *exec.Cmd {
	return auditCLIAs(api, credsFor(api), sub, args...)
}

// auditCLIAs is auditCLI signing with creds (none when empty).
func auditCLIAs(api string, creds initOutput, sub string, args ...string) *exec.Cmd {
	return cli(api, creds, append([]string{"audit", sub, "-address", api}, args...)...)
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

// alarm is the message of alarm kind raised for node, and whether there is one.
func (s nodeStatus) alarm(kind, node string) (string, bool) {
	for _, a := range s.Alarms {
		if a.Alarm == kind && a.NodeID == node {
			return a.Message, true
		}
	}
	return "", false
}

// clockAlarm is the message of the node's CLOCK alarm, or "".
func (s nodeStatus) clockAlarm() string {
	msg, _ := s.alarm("CLOCK", s.NodeID)
	return msg
}

// noSpace reports whether a NOSPACE alarm is raised for node.
func (s nodeStatus) noSpace(node string) bool {
	_, ok := s.alarm("NOSPACE", node)
	return ok
}

func status(t *testing.T, api string) (nodeStatus, error) {
	var st nodeStatus
	err := operator(t, api, &st, "status")
	return st, err
}

// fullStatus is the status a principal sees, alarms included.
func fullStatus(t *testing.T, api string) (nodeStatus, error) { return status(t, api) }

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

// httpClient is apiHTTPClient, or the default client for a plain-HTTP node.
func httpClient(api string) *http.Client {
	if hc := apiHTTPClient(api); hc != nil {
		return hc
	}
	return http.DefaultClient
}

// sign signs req, whose body is body, with SigV4 as creds' access key for
// service in the cluster's region, at time at, as the SDKs and the CLI do.
func sign(req *http.Request, body string, creds initOutput, service string, at time.Time) error {
	sum := sha256.Sum256([]byte(body))
	return v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: creds.AccessKeyID, SecretAccessKey: creds.SecretAccessKey},
		req, hex.EncodeToString(sum[:]), service, "us-east-1", at)
}

// kmsRequest is an AWS JSON 1.1 request of body to api, with X-Amz-Target
// target (none when "").
func kmsRequest(t *testing.T, api, target, body string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, api+"/", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	if target != "" {
		req.Header.Set("X-Amz-Target", target)
	}
	return req
}

// signedAuditGet is a GET of an operator API path signed with the root
// access key of api's cluster, as `keyraft audit` signs it.
func signedAuditGet(api, path string) (*http.Request, error) {
	req, err := http.NewRequest(http.MethodGet, api+path, nil)
	if err != nil {
		return nil, err
	}
	return req, sign(req, "", credsFor(api), operatorService, time.Now())
}

// getJSON sends a signedAuditGet of path to api, bounded by ctx, and
// hands the body of a 200 to decode.
func getJSON(ctx context.Context, api, path string, decode func(*json.Decoder) error) error {
	req, err := signedAuditGet(api, path)
	if err != nil {
		return err
	}
	resp, err := httpClient(api).Do(req.WithContext(ctx))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("%s of %s: HTTP %d: %s", path, api, resp.StatusCode, b)
	}
	return decode(json.NewDecoder(resp.Body))
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
	var out []map[string]any
	err := getJSON(context.Background(), api, "/v1/sys/audit/events?"+query, func(dec *json.Decoder) error {
		for dec.More() {
			var ev map[string]any
			if err := dec.Decode(&ev); err != nil {
				return fmt.Errorf("audit events of %s: %v", api, err)
			}
			out = append(out, ev)
		}
		return nil
	})
	return out, err
}

// kmsClient is the real aws-sdk-go-v2 KMS client pointed at one node.
func kmsClient(api string, creds initOutput, attempts int) *kms.Client {
	return kmsClientVia(api, creds, attempts, apiHTTPClient(api))
}

// kmsClientVia is kmsClient sending through hc (the SDK's own when nil).
func kmsClientVia(api string, creds initOutput, attempts int, hc *http.Client) *kms.Client {
	opts := kms.Options{
		Region:           "us-east-1",
		BaseEndpoint:     aws.String(api),
		Credentials:      credentials.NewStaticCredentialsProvider(creds.AccessKeyID, creds.SecretAccessKey, ""),
		RetryMaxAttempts: attempts,
	}
	if hc != nil {
		opts.HTTPClient = hc
	}
	return kms.New(opts)
}

// wantCode fails the test unless err is the AWS error code want.
func wantCode(t *testing.T, what string, err error, want string) {
	t.Helper()
	if got := apiCode(err); got != want {
		t.Fatalf("%s: got error %q (%v), want %s", what, got, err, want)
	}
}

// signedRequest is a KMS request signed with the Go SDK's signer, which
// signs every header the request carries when it signs: with target ""
// it carries no X-Amz-Target then, so the signature does not cover one.
func signedRequest(t *testing.T, api string, creds initOutput, target, body string) *http.Request {
	t.Helper()
	req := kmsRequest(t, api, target, body)
	if err := sign(req, body, creds, "kms", time.Now()); err != nil {
		t.Fatal(err)
	}
	return req
}

func send(t *testing.T, api string, req *http.Request) (int, string) {
	t.Helper()
	resp, err := httpClient(api).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

type rawAnswer struct {
	status  int
	errType string
	message string
	header  http.Header
}

// rawCall sends one AWS JSON 1.1 request, signed at `at` with secret (or
// unsigned when akid is ""), the way the SDKs do.
func rawCall(t *testing.T, api, target, body, akid, secret string, at time.Time) rawAnswer {
	t.Helper()
	req := kmsRequest(t, api, target, body)
	if akid != "" {
		if err := sign(req, body, initOutput{AccessKeyID: akid, SecretAccessKey: secret}, "kms", at); err != nil {
			t.Fatal(err)
		}
	}
	resp, err := httpClient(api).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var e struct {
		Type    string `json:"__type"`
		Message string `json:"message"`
	}
	_ = json.Unmarshal(raw, &e)
	return rawAnswer{status: resp.StatusCode, errType: e.Type, message: e.Message, header: resp.Header}
}

// apiCode is the AWS error code of err, or "".
func apiCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}
