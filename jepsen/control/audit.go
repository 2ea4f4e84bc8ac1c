package control

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"
)

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

// AuditVerify asks a node to verify its chain.
func AuditVerify(ctx context.Context, c Cluster, node string) (Verify, error) {
	var v Verify
	body, err := get(ctx, c, c.Endpoint(node)+"/v1/sys/audit/verify")
	if err != nil {
		return v, err
	}
	return v, json.Unmarshal(body, &v)
}

// AuditEvents is a node's whole committed audit log as JSON lines.
func AuditEvents(ctx context.Context, c Cluster, node string) ([]byte, error) {
	return get(ctx, c, c.Endpoint(node)+"/v1/sys/audit/events")
}

func get(ctx context.Context, c Cluster, url string) ([]byte, error) {
	hc, err := HTTPClient(c, 5*time.Minute)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
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
func WaitAuditConverged(ctx context.Context, c Cluster) error {
	return waitFor(ctx, "every node's audit log to reach the same head", func() bool {
		heads := map[uint64]bool{}
		for _, n := range c.Nodes() {
			v, err := AuditVerify(ctx, c, n)
			if err != nil {
				return false
			}
			heads[v.Head] = true
		}
		return len(heads) == 1
	})
}
