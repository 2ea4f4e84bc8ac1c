package e2e

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestStatusAndPeersNeedAPrincipal: anyone reaching the API sees only what a
// load balancer or an operator at the console needs (initialised, sealed,
// progress, threshold, version); the Raft index, leader, peers and alarms
// need a principal allowed keyraft:ReadStatus or keyraft:ListPeers, and the
// CLI signs for them.
func TestStatusAndPeersNeedAPrincipal(t *testing.T) {
	c := startUnsealedCluster(t)
	api := c.nodes[1].api

	get := func(path string, signed bool) (int, map[string]any) {
		t.Helper()
		req, err := http.NewRequest(http.MethodGet, api+path, nil)
		if signed {
			req, err = signedAuditGet(api, path)
		}
		if err != nil {
			t.Fatal(err)
		}
		resp, err := httpClient(api).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		return resp.StatusCode, out
	}

	code, public := get("/v1/sys/seal-status", false)
	allowed := []string{"initialized", "progress", "sealed", "threshold", "version", "alarms", "insecure", "ready"}
	for k := range public {
		if !slices.Contains(allowed, k) {
			t.Fatalf("the unauthenticated status shows %q: HTTP %d %v", k, code, public)
		}
	}
	if code != http.StatusOK {
		t.Fatalf("the unauthenticated status: HTTP %d %v", code, public)
	}
	if public["initialized"] != true || public["sealed"] != false || public["version"] == "" {
		t.Fatalf("the unauthenticated status: %v", public)
	}
	for _, path := range []string{"/v1/sys/status", "/v1/sys/raft/peers"} {
		if code, out := get(path, false); code != http.StatusForbidden {
			t.Fatalf("unsigned %s: HTTP %d %v", path, code, out)
		}
	}
	if code, full := get("/v1/sys/status", true); code != http.StatusOK || full["raft_index"] == nil || full["leader_id"] == "" {
		t.Fatalf("signed status: HTTP %d %v", code, full)
	}

	// The CLI: without an access key the public status and no peers;
	// with one, everything.
	var st map[string]any
	if err := operatorAs(t, api, initOutput{}, &st, "status"); err != nil || st["raft_index"] != nil || st["initialized"] != true {
		t.Fatalf("unsigned operator status: %v %v", st, err)
	}
	if err := operatorAs(t, api, initOutput{}, nil, "raft", "list-peers"); err == nil || !strings.Contains(err.Error(), "keyraft:ListPeers") {
		t.Fatalf("unsigned list-peers: %v", err)
	}
	var peers struct {
		Peers []map[string]any `json:"peers"`
	}
	if err := operator(t, api, &peers, "raft", "list-peers"); err != nil || len(peers.Peers) != 3 {
		t.Fatalf("list-peers as root: %+v %v", peers, err)
	}
	if err := operator(t, api, &st, "status"); err != nil || st["raft_index"] == nil || st["leader_id"] == "" {
		t.Fatalf("operator status as root: %v %v", st, err)
	}

	// A principal needs the action.
	kmsOnly := newUserKey(t, c, c.creds, "kms-only", doc(stmt("Allow", "", `"Action":"kms:*"`, "")))
	watcher := newUserKey(t, c, c.creds, "watcher", doc(stmt("Allow", "", `"Action":["keyraft:ListPeers","keyraft:ReadStatus"]`, "")))
	waitFor(t, 10*time.Second, "the users' keys on every node", func() (bool, error) {
		err := operatorAs(t, api, watcher, nil, "raft", "list-peers")
		return err == nil, err
	})
	if err := operatorAs(t, api, kmsOnly, nil, "raft", "list-peers"); err == nil || !strings.Contains(err.Error(), "keyraft:ListPeers") {
		t.Fatalf("a principal without keyraft:ListPeers listed the peers: %v", err)
	}
	if err := operatorAs(t, api, kmsOnly, nil, "status"); err == nil || !strings.Contains(err.Error(), "keyraft:ReadStatus") {
		t.Fatalf("a principal without keyraft:ReadStatus read the status: %v", err)
	}
	if err := operatorAs(t, api, watcher, &st, "status"); err != nil || st["raft_index"] == nil {
		t.Fatalf("a principal allowed keyraft:ReadStatus: %v %v", st, err)
	}
}
