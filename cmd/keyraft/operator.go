package main

import (
	"bytes"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	operatorapi "github.com/keyraft/keyraft/operator"
)

// operatorFlags are the flags every operator command takes.
type operatorFlags struct {
	address string
	format  string
	caFile  string
	region  string // of the SigV4 credential scope
	// timeout bounds one call; commands whose node may work for minutes
	// (audit verify and export) raise it.
	timeout time.Duration
}

// newOperatorFlags is the flag set of `keyraft <synopsis>`; name is the
// command's words, synopsis its usage line, help what it does.
func newOperatorFlags(name, synopsis, help string) (*flag.FlagSet, *operatorFlags) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	describe(fs, synopsis, help)
	of := &operatorFlags{timeout: 30 * time.Second}
	def := os.Getenv("KEYRAFT_ADDR")
	if def == "" {
		def = "http://127.0.0.1:8200"
	}
	fs.StringVar(&of.address, "address", def, "the node's API: http://host:port, https://host:port, or host:port for http (also $KEYRAFT_ADDR)")
	of.format = "table"
	fs.Var((*outputFormat)(&of.format), "format", "output `format`: json or table")
	fs.StringVar(&of.region, "region", envOr("AWS_REGION", envOr("AWS_DEFAULT_REGION", "us-east-1")), "region of the SigV4 credential scope of signed requests (also $AWS_REGION, $AWS_DEFAULT_REGION)")
	fs.StringVar(&of.caFile, "ca-file", os.Getenv("KEYRAFT_CACERT"), "PEM CA certificate(s) that sign an https:// node's API certificate (also $KEYRAFT_CACERT; without it, the system roots)")
	return fs, of
}

// outputFormat is -format: a typo is a usage error (exit 2) before anything
// is sent, not a silent table after a command has already changed state.
type outputFormat string

func (f *outputFormat) String() string { return string(*f) }

func (f *outputFormat) Set(v string) error {
	if v != "json" && v != "table" {
		return errors.New(`must be "json" or "table"`)
	}
	*f = outputFormat(v)
	return nil
}

// httpClient is the client for the node's API: it trusts -ca-file when
// given, else the system roots.
func (of *operatorFlags) httpClient(timeout time.Duration) (*http.Client, error) {
	if of.caFile == "" {
		return &http.Client{Timeout: timeout}, nil
	}
	pem, err := os.ReadFile(of.caFile)
	if err != nil {
		return nil, fmt.Errorf("-ca-file: %w", err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("-ca-file %s: no PEM certificate", of.caFile)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
	return &http.Client{Timeout: timeout, Transport: tr}, nil
}

func runOperator(args []string) int {
	if len(args) == 0 {
		fmt.Fprint(os.Stderr, usage)
		return 2
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		fmt.Print(usage)
		return 0
	case "init":
		return opInit(args[1:])
	case "health":
		return opHealth(args[1:])
	case "unseal":
		return opUnseal(args[1:])
	case "seal":
		return opSimple("seal", "Seal the node: drop every unsealed secret from its memory. Signed with\n$AWS_ACCESS_KEY_ID (the root, or a user allowed keyraft:Seal).", http.MethodPost, "/v1/sys/seal", args[1:])
	case "status":
		return opStatus(args[1:])
	case "rekey":
		return opRekey(args[1:])
	case "rotate":
		return opRotate(args[1:])
	case "tls-gen":
		return opTLSGen(args[1:])
	case "gossip-keygen":
		return opGossipKeygen(args[1:])
	case "raft":
		if len(args) == 2 && isHelp(args[1]) {
			fmt.Print(usage)
			return 0
		}
		if len(args) > 1 && args[1] == "list-peers" {
			return opListPeers(args[2:])
		}
		if len(args) > 1 && args[1] == "autopilot" {
			return opAutopilot(args[2:])
		}
		if len(args) > 1 && args[1] == "snapshot" {
			return opSnapshot(args[2:])
		}
		if len(args) > 1 && args[1] == "remove-peer" {
			return opRemovePeer(args[2:])
		}
	}
	fmt.Fprintf(os.Stderr, "keyraft operator: unknown command %q\n\n%s", strings.Join(args, " "), usage)
	return 2
}

// call sends one operator API request and decodes the JSON answer into out.
func call(of *operatorFlags, method, path string, in, out any) error {
	var body []byte
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			return err
		}
	}
	base, err := nodeURL(of.address)
	if err != nil {
		return err
	}
	req, err := http.NewRequest(method, base+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if err := of.sign(req, body, operatorapi.SigningService); err != nil {
		return err
	}
	raw, err := of.send(req)
	if err != nil {
		return err
	}
	return json.Unmarshal(raw, out)
}

// sign signs req (whose body is body) with SigV4 for service, with the
// access key in the environment, as the AWS CLI finds it. Without one the
// request goes unsigned: init, unseal and status need no principal, and
// the endpoints that do answer with what is missing.
func (of *operatorFlags) sign(req *http.Request, body []byte, service string) error {
	akid, secret := os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY")
	if akid == "" || secret == "" {
		return nil
	}
	sum := sha256.Sum256(body)
	creds := aws.Credentials{AccessKeyID: akid, SecretAccessKey: secret, SessionToken: os.Getenv("AWS_SESSION_TOKEN")}
	return v4.NewSigner().SignHTTP(req.Context(), creds, req, hex.EncodeToString(sum[:]), service, of.region, time.Now())
}

// send sends req to the node and returns the answer's body, or an error
// that says what the node said: the operator API's {"errors": [...]} or an
// AWS JSON error's __type and message.
func (of *operatorFlags) send(req *http.Request) ([]byte, error) {
	client, err := of.httpClient(of.timeout)
	if err != nil {
		return nil, err
	}
	base := req.URL.Scheme + "://" + req.URL.Host
	resp, err := client.Do(req)
	if err != nil {
		return nil, explainSendError(base, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode/100 == 2 {
		return raw, nil
	}
	if httpToHTTPS(resp.StatusCode, raw) {
		return nil, wrongSchemeHTTP(base)
	}
	var e struct {
		Errors  []string `json:"errors"`
		Type    string   `json:"__type"`
		Message string   `json:"message"`
	}
	switch {
	case json.Unmarshal(raw, &e) != nil:
	case len(e.Errors) > 0:
		return nil, fmt.Errorf("%s (HTTP %d)", strings.Join(e.Errors, "; "), resp.StatusCode)
	case e.Type != "":
		return nil, fmt.Errorf("%s: %s (HTTP %d)", e.Type, e.Message, resp.StatusCode)
	}
	return nil, fmt.Errorf("HTTP %d: %s", resp.StatusCode, strings.TrimSpace(string(raw)))
}

// fail reports err for cmd: an operator subcommand ("init") or an audit
// command named in full ("audit verify").
func fail(cmd string, err error) int {
	if !strings.HasPrefix(cmd, "audit ") {
		cmd = "operator " + cmd
	}
	fmt.Fprintf(os.Stderr, "keyraft %s: %v\n", cmd, err)
	return 1
}

func printJSON(v any) {
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// printTable prints a flat JSON object as aligned key/value lines.
func printTable(v map[string]any, order []string) {
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	for _, k := range order {
		if val, ok := v[k]; ok {
			fmt.Fprintf(tw, "%s\t%v\n", k, val)
		}
	}
	tw.Flush()
}

var statusOrder = []string{"node_id", "initialized", "sealed", "ready", "not_ready", "progress", "threshold", "shares", "leader_id", "raft_state", "raft_index", "term", "keyring_term", "reseal_remaining", "insecure", "version"}

func opSimple(name, help, method, path string, args []string) int {
	fs, of := newOperatorFlags(name, "operator "+name+" [flags]", help)
	if _, err := parseInterspersed(fs, args); err != nil {
		return usageExit(err)
	}
	var out map[string]any
	if err := call(of, method, path, nil, &out); err != nil {
		return fail(name, err)
	}
	if of.format == "json" {
		printJSON(out)
	} else {
		printTable(out, statusOrder)
		printAlarms(out)
	}
	return 0
}

// opStatus prints a node's status: the whole of it (GET /v1/sys/status)
// when the CLI has an access key and the node is unsealed, which it needs
// to check the signature; else the public part anyone may read (GET
// /v1/sys/seal-status: initialised, sealed, progress, threshold, version).
func opStatus(args []string) int {
	fs, of := newOperatorFlags("status", "operator status [flags]",
		"Print a node's seal status; signed with $AWS_ACCESS_KEY_ID (the root, or a user allowed\nkeyraft:ReadStatus) and the node unsealed, also its raft state and alarms.")
	if _, err := parseInterspersed(fs, args); err != nil {
		return usageExit(err)
	}
	var out map[string]any
	if err := call(of, http.MethodGet, "/v1/sys/seal-status", nil, &out); err != nil {
		return fail("status", err)
	}
	if out["sealed"] == false && os.Getenv("AWS_ACCESS_KEY_ID") != "" {
		out = nil
		if err := call(of, http.MethodGet, "/v1/sys/status", nil, &out); err != nil {
			return fail("status", err)
		}
	}
	if of.format == "json" {
		printJSON(out)
	} else {
		printTable(out, statusOrder)
		printAlarms(out)
	}
	return 0
}

// printAlarms lists a status's alarms (NOSPACE: writes are refused), one
// a line, after the table.
func printAlarms(v map[string]any) {
	alarms, _ := v["alarms"].([]any)
	for _, a := range alarms {
		if m, ok := a.(map[string]any); ok {
			fmt.Printf("ALARM %v on %v: %v\n", m["alarm"], m["node_id"], m["message"])
		}
	}
}

func opInit(args []string) int {
	fs, of := newOperatorFlags("init", "operator init [flags]",
		"Initialise the cluster (on its leader; a follower forwards) and print the unseal shares\nand the root access key, once.")
	shares := fs.Int("key-shares", 5, "number of unseal shares to make")
	threshold := fs.Int("key-threshold", 3, "shares needed to unseal")
	if _, err := parseInterspersed(fs, args); err != nil {
		return usageExit(err)
	}
	if *threshold < 1 || *threshold > *shares || *shares > 255 || (*shares >= 2 && *threshold < 2) {
		return fail("init", fmt.Errorf("need 1 <= -key-threshold <= -key-shares <= 255, and -key-threshold >= 2 when -key-shares >= 2"))
	}
	var out struct {
		Keys            []string `json:"unseal_keys_b64"`
		Shares          int      `json:"unseal_shares"`
		Threshold       int      `json:"unseal_threshold"`
		AccessKeyID     string   `json:"access_key_id"`
		SecretAccessKey string   `json:"secret_access_key"`
	}
	if err := call(of, http.MethodPost, "/v1/sys/init", map[string]int{"secret_shares": *shares, "secret_threshold": *threshold}, &out); err != nil {
		return fail("init", err)
	}
	if of.format == "json" {
		printJSON(out)
		return 0
	}
	for i, k := range out.Keys {
		fmt.Printf("Unseal Key %d: %s\n", i+1, k)
	}
	fmt.Printf("\nAccess Key ID:     %s\nSecret Access Key: %s\n\n", out.AccessKeyID, out.SecretAccessKey)
	fmt.Printf("keyraft is initialized with %d key shares and a threshold of %d. Every node\n"+
		"starts sealed: give each node %d shares with `keyraft operator unseal` (or\n"+
		"`keyraft operator unseal -all SHARE` once per share holder). The shares are\n"+
		"shown only now; keep them apart.\n", out.Shares, out.Threshold, out.Threshold)
	return 0
}

func opUnseal(args []string) int {
	fs, of := newOperatorFlags("unseal", "operator unseal [flags] SHARE\n       keyraft operator unseal -reset [flags]",
		"Give the node (with -all, every node the cluster knows) one unseal share (base64).")
	all := fs.Bool("all", false, "submit the share to every node the cluster knows")
	reset := fs.Bool("reset", false, "discard this node's unseal progress")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return usageExit(err)
	}
	req := map[string]any{"reset": *reset, "all": *all}
	if !*reset {
		if len(pos) != 1 {
			return fail("unseal", fmt.Errorf("give exactly one share (base64), or -reset"))
		}
		req["key"] = pos[0]
	}
	var out map[string]any
	if err := call(of, http.MethodPost, "/v1/sys/unseal", req, &out); err != nil {
		return fail("unseal", err)
	}
	if of.format == "json" {
		printJSON(out)
		return 0
	}
	nodes, _ := out["nodes"].([]any)
	if nodes == nil {
		nodes = []any{out}
	}
	failed := false
	for _, n := range nodes {
		m, _ := n.(map[string]any)
		line := fmt.Sprintf("%v: sealed=%v progress=%v/%v", m["node_id"], m["sealed"], m["progress"], m["threshold"])
		if e, ok := m["error"]; ok {
			line += " error: " + fmt.Sprint(e)
			failed = true
		}
		fmt.Println(line)
	}
	if failed {
		return 1
	}
	return 0
}

func opListPeers(args []string) int {
	fs, of := newOperatorFlags("raft list-peers", "operator raft list-peers [flags]",
		"Print the raft configuration: each server, its address, role, seal state and liveness.\nSigned with $AWS_ACCESS_KEY_ID (keyraft:ListPeers).")
	if _, err := parseInterspersed(fs, args); err != nil {
		return usageExit(err)
	}
	var out struct {
		Peers []map[string]any `json:"peers"`
	}
	if err := call(of, http.MethodGet, "/v1/sys/raft/peers", nil, &out); err != nil {
		return fail("raft list-peers", err)
	}
	if of.format == "json" {
		printJSON(out)
		return 0
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "Node\tAddress\tState\tVoter\tSealed\tAlive")
	for _, p := range out.Peers {
		state := "follower"
		if p["leader"] == true {
			state = "leader"
		}
		sealed := "unknown"
		if v, ok := p["sealed"]; ok {
			sealed = fmt.Sprint(v)
		}
		fmt.Fprintf(tw, "%v\t%v\t%s\t%v\t%s\t%v\n", p["node_id"], p["address"], state, p["voter"], sealed, p["alive"])
	}
	tw.Flush()
	return 0
}

func opRemovePeer(args []string) int {
	fs, of := newOperatorFlags("raft remove-peer", "operator raft remove-peer [flags] NODE_ID",
		"Remove a server from the raft configuration. Signed with $AWS_ACCESS_KEY_ID (keyraft:RemovePeer).")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return usageExit(err)
	}
	if len(pos) != 1 {
		return fail("raft remove-peer", fmt.Errorf("give exactly one node id"))
	}
	var out map[string]any
	if err := call(of, http.MethodPost, "/v1/sys/raft/remove-peer", map[string]string{"node_id": pos[0]}, &out); err != nil {
		return fail("raft remove-peer", err)
	}
	if of.format == "json" {
		printJSON(out)
	} else {
		fmt.Printf("Removed %s from the raft configuration.\n", pos[0])
	}
	return 0
}
