package control

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// Status is a node's status: GET /v1/sys/seal-status (initialised, sealed,
// progress, threshold), which anyone may read, and, for a caller with
// credentials and an unsealed node, GET /v1/sys/status (the rest).
type Status struct {
	Initialized bool   `json:"initialized"`
	Sealed      bool   `json:"sealed"`
	Progress    int    `json:"progress"`
	Threshold   int    `json:"threshold"`
	NodeID      string `json:"node_id"`
	LeaderID    string `json:"leader_id"`
	RaftState   string `json:"raft_state"`
	RaftIndex   uint64 `json:"raft_index"`
	Term        uint64 `json:"term"`
}

// Credentials are what `keyraft operator init` printed.
type Credentials struct {
	Keys            []string `json:"unseal_keys_b64"`
	Threshold       int      `json:"unseal_threshold"`
	AccessKeyID     string   `json:"access_key_id"`
	SecretAccessKey string   `json:"secret_access_key"`
}

// NodeStatus asks one node for its status: the public part, and the whole
// of it, signed with creds' access key, when creds is not nil and the node
// is unsealed (a sealed node cannot check a signature).
func NodeStatus(ctx context.Context, c Cluster, creds *Credentials, node string) (Status, error) {
	var st Status
	if err := getStatus(ctx, c, nil, node, "/v1/sys/seal-status", &st); err != nil || creds == nil || st.Sealed {
		return st, err
	}
	return st, getStatus(ctx, c, creds, node, "/v1/sys/status", &st)
}

// getStatus GETs path from node into st, signed with creds when not nil.
func getStatus(ctx context.Context, c Cluster, creds *Credentials, node, path string, st *Status) error {
	hc, err := HTTPClient(c, 2*time.Second)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.Endpoint(node)+path, nil)
	if err != nil {
		return err
	}
	if creds != nil {
		sum := sha256.Sum256(nil)
		err = v4.NewSigner().SignHTTP(ctx, aws.Credentials{AccessKeyID: creds.AccessKeyID, SecretAccessKey: creds.SecretAccessKey},
			req, hex.EncodeToString(sum[:]), "keyraft", "us-east-1", time.Now())
		if err != nil {
			return err
		}
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: HTTP %d", path, resp.StatusCode)
	}
	return json.NewDecoder(resp.Body).Decode(st)
}

// Leader is the node that says it leads in the highest term, or "" when
// none does. A paused or cut-off old leader may still say it leads; the
// higher term of the new one wins. Who leads is for principals to see:
// creds' access key signs the question, and sealed nodes are not asked.
func Leader(ctx context.Context, c Cluster, creds *Credentials) string {
	var leader string
	var term uint64
	for _, n := range c.Nodes() {
		st, err := NodeStatus(ctx, c, creds, n)
		if err == nil && st.RaftState == "Leader" && st.Term >= term {
			leader, term = n, st.Term
		}
	}
	return leader
}

// operator runs `keyraft operator ARGS -address NODE` (trusting the
// cluster's CA), signed with creds' access key when creds is not nil, and
// returns its stdout.
func operator(ctx context.Context, c Cluster, creds *Credentials, node string, args ...string) ([]byte, error) {
	args = append(append([]string{"operator"}, args...), "-address", c.Endpoint(node))
	if ca := c.CAFile(); ca != "" {
		args = append(args, "-ca-file", ca)
	}
	return cliAs(ctx, creds, c.Binary(), args...)
}

// cli runs the keyraft CLI and returns its stdout.
func cli(ctx context.Context, bin string, args ...string) ([]byte, error) {
	return cliAs(ctx, nil, bin, args...)
}

// cliAs is cli with creds' access key in the CLI's environment, which it
// signs operator calls with (none when creds is nil).
func cliAs(ctx context.Context, creds *Credentials, bin string, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, 40*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	if creds != nil {
		cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID="+creds.AccessKeyID, "AWS_SECRET_ACCESS_KEY="+creds.SecretAccessKey)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return out, fmt.Errorf("keyraft %s: %w: %s%s", strings.Join(args[:min(2, len(args))], " "), err, strings.TrimSpace(stderr.String()), strings.TrimSpace(string(out)))
	}
	return out, nil
}

// waitFor polls cond every 200 ms until it holds or ctx ends.
func waitFor(ctx context.Context, what string, cond func() bool) error {
	for {
		if cond() {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s: %w", what, ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// Initialize runs `keyraft operator init` (5 shares, threshold 3) until a
// leader takes it, and unseals every node, as scripts/cluster-up.sh does.
func Initialize(ctx context.Context, c Cluster) (*Credentials, error) {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	var creds Credentials
	var initErr error
	err := waitFor(ctx, "init", func() bool {
		out, err := operator(ctx, c, nil, c.Nodes()[0], "init", "-key-shares", "5", "-key-threshold", "3", "-format", "json")
		if err != nil && strings.Contains(err.Error(), "already initialized") {
			initErr = err // an earlier attempt's answer was lost: no shares
			return true
		}
		return err == nil && json.Unmarshal(out, &creds) == nil && len(creds.Keys) > 0
	})
	if err == nil {
		err = initErr
	}
	if err != nil {
		return nil, err
	}
	for _, n := range c.Nodes() {
		if err := Unseal(ctx, c, &creds, n); err != nil {
			return nil, err
		}
	}
	return &creds, nil
}

// Unseal gives a node shares with `keyraft operator unseal` until it is
// unsealed. A node that has just restarted must first replay the init.
func Unseal(ctx context.Context, c Cluster, creds *Credentials, node string) error {
	err := waitFor(ctx, node+" to see the cluster initialised", func() bool {
		st, err := NodeStatus(ctx, c, nil, node)
		return err == nil && st.Initialized
	})
	if err != nil {
		return err
	}
	for _, share := range creds.Keys {
		st, err := NodeStatus(ctx, c, nil, node)
		if err == nil && !st.Sealed {
			return nil
		}
		if _, err := operator(ctx, c, nil, node, "unseal", "-format", "json", share); err != nil {
			return fmt.Errorf("unseal %s: %w", node, err)
		}
	}
	if st, err := NodeStatus(ctx, c, nil, node); err != nil || st.Sealed {
		return fmt.Errorf("%s is still sealed after every share (%v)", node, err)
	}
	return nil
}

// Seal seals one node with `keyraft operator seal`, signed as creds' root
// access key: sealing needs a principal allowed keyraft:Seal.
func Seal(ctx context.Context, c Cluster, creds *Credentials, node string) error {
	_, err := operator(ctx, c, creds, node, "seal", "-format", "json")
	return err
}

// WaitHealthy waits until every node answers unsealed and agrees on one
// leader, asking as creds' access key.
func WaitHealthy(ctx context.Context, c Cluster, creds *Credentials) error {
	return waitFor(ctx, "every node unsealed with one leader", func() bool {
		leaders := map[string]bool{}
		for _, n := range c.Nodes() {
			st, err := NodeStatus(ctx, c, creds, n)
			if err != nil || st.Sealed || st.LeaderID == "" {
				return false
			}
			leaders[st.LeaderID] = true
		}
		return len(leaders) == 1
	})
}
