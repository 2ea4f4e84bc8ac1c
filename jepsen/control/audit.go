package control

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// operatorSigningService is the SigV4 service of the keyraft operator API
// endpoints that need a principal, such as the audit log's.
const operatorSigningService = "keyraft"

// Verify is a node's GET /v1/sys/audit/verify answer (what `keyraft audit
// verify` prints): the node checked its own hash chain.
type Verify struct {
	NodeID    string `json:"node_id"`
	Events    uint64 `json:"events"`
	Head      uint64 `json:"head"`
	OK        bool   `json:"ok"`
	BrokenAt  uint64 `json:"broken_at,omitempty"`
	Violation string `json:"violation,omitempty"`
}

// AuditVerify asks a node to verify its chain, as the root principal
// creds names.
func AuditVerify(ctx context.Context, c Cluster, creds *Credentials, node string) (Verify, error) {
	var v Verify
	body, err := get(ctx, c, creds, c.Endpoint(node)+"/v1/sys/audit/verify")
	if err != nil {
		return v, err
	}
	return v, json.Unmarshal(body, &v)
}

// AuditEvents is a node's whole committed audit log as JSON lines.
func AuditEvents(ctx context.Context, c Cluster, creds *Credentials, node string) ([]byte, error) {
	return get(ctx, c, creds, c.Endpoint(node)+"/v1/sys/audit/events")
}

// get is a GET signed with creds' access key.
func get(ctx context.Context, c Cluster, creds *Credentials, url string) ([]byte, error) {
	hc, err := HTTPClient(c, 5*time.Minute)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(nil)
	key := aws.Credentials{AccessKeyID: creds.AccessKeyID, SecretAccessKey: creds.SecretAccessKey}
	if err := v4.NewSigner().SignHTTP(ctx, key, req, hex.EncodeToString(sum[:]), operatorSigningService, "us-east-1", time.Now()); err != nil {
		return nil, err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: HTTP %d: %s", url, resp.StatusCode, body)
	}
	return body, nil
}

// WaitAuditConverged waits until every node's audit head is the same (the
// followers have applied every committed batch), or ctx ends.
func WaitAuditConverged(ctx context.Context, c Cluster, creds *Credentials) error {
	return waitFor(ctx, "every node's audit log to reach the same head", func() bool {
		heads := map[uint64]bool{}
		for _, n := range c.Nodes() {
			v, err := AuditVerify(ctx, c, creds, n)
			if err != nil {
				return false
			}
			heads[v.Head] = true
		}
		return len(heads) == 1
	})
}
