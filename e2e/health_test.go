package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// health is one answer of GET /v1/sys/health.
type healthAnswer struct {
	code int
	body map[string]any
}

func getHealth(t *testing.T, api, query string) healthAnswer {
	t.Helper()
	u := api + "/v1/sys/health"
	if query != "" {
		u += "?" + query
	}
	resp, err := httpClient(api).Get(u)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var body map[string]any
	// A 204 (an -activecode override) has no body.
	if err := json.Unmarshal(raw, &body); err != nil && resp.StatusCode != http.StatusNoContent {
		t.Fatalf("GET %s: %d, not JSON: %q", u, resp.StatusCode, raw)
	}
	return healthAnswer{resp.StatusCode, body}
}

// healthCLI runs `keyraft operator health -address ADDR ARGS` unsigned (a
// probe has no credentials) and returns its exit status and output.
func healthCLI(t *testing.T, addr string, args ...string) (int, string) {
	t.Helper()
	cmd := exec.Command(binary, append([]string{"operator", "health", "-address", addr}, args...)...)
	cmd.Env = signingEnv(initOutput{})
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode(), out.String()
	} else if err != nil {
		t.Fatalf("operator health: %v", err)
	}
	return 0, out.String()
}

// wantHealth checks one node's code for each query, and the CLI's exit
// status for the same overrides as flags.
func wantHealth(t *testing.T, what, api string, cases map[string]int) {
	t.Helper()
	for query, want := range cases {
		if got := getHealth(t, api, query); got.code != want {
			t.Errorf("%s: GET /v1/sys/health?%s = %d, want %d (%v)", what, query, got.code, want, got.body)
		}
		if strings.Contains(query, "perf") || strings.Contains(query, "drsecondary") {
			continue // Vault's, accepted by the endpoint; the CLI has no flag for them
		}
		var flags []string
		if query != "" {
			for _, kv := range strings.Split(query, "&") {
				if k, v, ok := strings.Cut(kv, "="); ok {
					flags = append(flags, "-"+k+"="+v)
				} else {
					flags = append(flags, "-"+k) // a bare boolean
				}
			}
		}
		exit, out := healthCLI(t, api, flags...)
		if wantExit := map[bool]int{true: 0, false: 1}[want/100 == 2]; exit != wantExit {
			t.Errorf("%s: operator health %v exited %d, want %d:\n%s", what, flags, exit, wantExit, out)
		}
		if !strings.Contains(out, fmt.Sprintf("status_code %d", want)) && !strings.Contains(out, fmt.Sprint(want)) {
			t.Errorf("%s: operator health %v does not print the status code %d:\n%s", what, flags, want, out)
		}
	}
}

// TestHealthCodes: GET /v1/sys/health and `operator health` through a
// cluster's life: uninitialised (501), sealed (503), the unsealed leader
// (200), an unsealed follower (429), and Vault's overrides of each; the
// body says what the code says and names no node.
func TestHealthCodes(t *testing.T) {
	c := startCluster(t)
	n1 := c.nodes[0]
	wantHealth(t, "uninitialised", n1.api, map[string]int{
		"": 501, "uninitcode=200": 200, "standbyok=true": 501, "sealedcode=200": 501,
	})
	h := getHealth(t, n1.api, "")
	if h.body["initialized"] != false || h.body["sealed"] != true {
		t.Errorf("uninitialised body: %v", h.body)
	}

	c.init("-key-shares", "3", "-key-threshold", "2")
	waitFor(t, 20*time.Second, "every node to hold the init record", func() (bool, error) {
		for _, p := range c.nodes {
			if getHealth(t, p.api, "").code != 503 {
				return false, fmt.Errorf("%s not 503 yet", p.id)
			}
		}
		return true, nil
	})
	wantHealth(t, "sealed", n1.api, map[string]int{
		"": 503, "sealedcode=200": 200, "sealedcode=299&uninitcode=200": 299, "standbyok=true": 503,
	})

	c.unsealEach()
	leader := c.waitLeader(20*time.Second, "")
	follower := c.follower(leader)
	wantHealth(t, "leader", leader.api, map[string]int{
		"": 200, "activecode=204": 204, "standbycode=200": 200, "standbyok=true": 200,
	})
	wantHealth(t, "follower", follower.api, map[string]int{
		"": 429, "standbyok=true": 200, "standbycode=250": 250, "activecode=201&standbyok=true": 201,
		// A bare boolean is on.
		"standbyok": 200, "activecode=202&standbyok": 202, "standbyok=false": 429,
		// Vault's parameters for states keyraft has not change nothing.
		"perfstandbyok=true": 429, "performancestandbycode=200&drsecondarycode=200": 429,
	})
	lb, fb := getHealth(t, leader.api, "").body, getHealth(t, follower.api, "").body
	if lb["standby"] != false || fb["standby"] != true || fb["ha_connection_healthy"] != true ||
		lb["sealed"] != false || lb["initialized"] != true {
		t.Errorf("bodies: leader %v, follower %v", lb, fb)
	}
	for _, b := range []map[string]any{lb, fb} {
		if v, _ := b["version"].(string); !strings.HasPrefix(v, "0.") {
			t.Errorf("health version %q", b["version"])
		}
		// Anyone may read it: it names no node, leader or address.
		for _, k := range []string{"node_id", "leader_id", "leader", "address", "leader_address", "raft_state"} {
			if _, ok := b[k]; ok {
				t.Errorf("health shows %q to anyone: %v", k, b)
			}
		}
	}

	// HEAD: the code alone, as load balancers ask.
	resp, err := httpClient(follower.api).Head(follower.api + "/v1/sys/health?standbyok=true")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("HEAD follower standbyok: %v %v", resp, err)
	}
	resp.Body.Close()
	// A bad override is refused, not guessed at.
	for _, q := range []string{"activecode=abc", "sealedcode=99", "standbyok=maybe"} {
		if got := getHealth(t, leader.api, q); got.code != http.StatusBadRequest {
			t.Errorf("?%s: %d, want 400", q, got.code)
		}
	}
	// ... and the CLI says why plainly, the node's message as text.
	for flag, v := range map[string]string{"activecode": "42", "sealedcode": "99999"} {
		want := "keyraft operator health: " + flag + ` must be an HTTP status code from 200 to 599, not "` + v + `" (HTTP 400)`
		if exit, out := healthCLI(t, leader.api, "-"+flag, v); exit != 1 || !strings.Contains(out, want) || strings.Contains(out, "[") {
			t.Errorf("operator health -%s %s: exit %d, want 1 saying %q\n%s", flag, v, exit, want, out)
		}
	}

	// host:port means http://host:port.
	if exit, out := healthCLI(t, strings.TrimPrefix(leader.api, "http://")); exit != 0 {
		t.Errorf("operator health -address host:port on the leader: exit %d\n%s", exit, out)
	}

	// A sealed follower is 503 again, whatever standbyok says.
	if err := operator(t, follower.api, nil, "seal"); err != nil {
		t.Fatal(err)
	}
	wantHealth(t, "sealed follower", follower.api, map[string]int{"": 503, "standbyok=true": 503})
	// status and seal-status show the same version.
	var st, pub map[string]any
	if err := operator(t, leader.api, &st, "status"); err != nil {
		t.Fatal(err)
	}
	if err := getJSON(ctx10(t), follower.api, "/v1/sys/seal-status", func(d *json.Decoder) error { return d.Decode(&pub) }); err != nil {
		t.Fatal(err)
	}
	if st["version"] != lb["version"] || pub["version"] != lb["version"] {
		t.Errorf("versions: status %v, seal-status %v, health %v", st["version"], pub["version"], lb["version"])
	}
	// The last unsealed follower, once the leader and the sealed follower
	// are gone, has no quorum and knows no leader: 474, which standbyok does
	// not turn healthy (it could forward nothing).
	var last *proc
	for _, p := range c.nodes {
		if p != leader && p != follower {
			last = p
		}
	}
	leader.kill()
	follower.kill()
	waitFor(t, 20*time.Second, last.id+" to know no leader", func() (bool, error) {
		return getHealth(t, last.api, "").code == 474, nil
	})
	wantHealth(t, "follower without a leader", last.api, map[string]int{"": 474, "standbyok=true": 474, "haunhealthycode=200": 200})
	if b := getHealth(t, last.api, "").body; b["standby"] != true || b["ha_connection_healthy"] != false {
		t.Errorf("follower without a leader: %v", b)
	}
}

// TestHealthCLIUnreachable: a probe of a node that is not there fails (exit
// 1) and says what to check.
func TestHealthCLIUnreachable(t *testing.T) {
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	exit, out := healthCLI(t, addr)
	if exit != 1 || !strings.Contains(out, "nothing listens at http://"+addr) || !strings.Contains(out, "-address") {
		t.Fatalf("operator health on a closed port: exit %d\n%s", exit, out)
	}
}
