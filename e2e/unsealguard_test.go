package e2e

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestUnsealRateLimitedAndFailuresSummarised: a flood of bad unseal
// attempts from one address is throttled (429) after a burst, each failed
// attempt is not an audit event of its own but counted in a summary, and
// the share holders still unseal once the bucket refills.
func TestUnsealRateLimitedAndFailuresSummarised(t *testing.T) {
	c := startOneNode(t, 3, 2, nil)
	p := c.nodes[0]
	bogus := make([]byte, 7) // not a share of any root key: every attempt fails
	_, _ = rand.Read(bogus)
	body, _ := json.Marshal(map[string]string{"key": base64.StdEncoding.EncodeToString(bogus)})
	const attempts = 40
	statuses := map[int]int{}
	first429 := -1
	for i := 0; i < attempts; i++ {
		resp, err := http.Post(p.api+"/v1/sys/unseal", "application/json", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		var e struct {
			Errors []string `json:"errors"`
		}
		_ = json.NewDecoder(resp.Body).Decode(&e)
		resp.Body.Close()
		statuses[resp.StatusCode]++
		if resp.StatusCode == http.StatusTooManyRequests {
			if first429 < 0 {
				first429 = i
				t.Logf("attempt %d throttled: %v (Retry-After %q)", i, e.Errors, resp.Header.Get("Retry-After"))
			}
			if len(e.Errors) == 0 || resp.Header.Get("Retry-After") == "" {
				t.Fatalf("a throttled unseal says nothing of why or when to retry: %v", e)
			}
		}
	}
	t.Logf("answers to %d bad unseal attempts: %v", attempts, statuses)
	if statuses[http.StatusTooManyRequests] == 0 {
		t.Fatalf("%d unseal attempts in a burst from one address were never throttled: %v", attempts, statuses)
	}
	if first429 < 5 {
		t.Fatalf("throttled at attempt %d: a ceremony needs a few attempts in a row", first429)
	}

	// The share holders get through once the bucket refills.
	for _, k := range c.creds.Keys[:2] {
		waitFor(t, 10*time.Second, "an unseal past the throttle", func() (bool, error) {
			err := operator(t, p.api, nil, "unseal", k)
			return err == nil, err
		})
	}
	if st, err := status(t, p.api); err != nil || st.Sealed {
		t.Fatalf("still sealed: %+v %v", st, err)
	}

	// No event per failed attempt; a summary that names the source.
	waitFor(t, 10*time.Second, "a summary of the failed unseal attempts", func() (bool, error) {
		evs, err := tryAuditEvents(p.api, "")
		if err != nil {
			return false, err
		}
		summaries := 0
		for _, ev := range evs {
			switch ev["eventName"] {
			case "OperatorUnseal":
				if ev["errorCode"] != nil {
					t.Fatalf("a failed unseal attempt is an event of its own: %v", ev)
				}
			case "OperatorUnsealFailures":
				params, _ := ev["requestParameters"].(map[string]any)
				failed, _ := params["failedAttempts"].(map[string]any)
				if failed["127.0.0.1"] == nil {
					t.Fatalf("a summary does not name the source: %v", ev)
				}
				summaries++
			}
		}
		if len(evs) > 10 {
			t.Fatalf("%d bad unseal attempts left %d events", attempts, len(evs))
		}
		return summaries > 0, fmt.Errorf("%d events, no summary", len(evs))
	})
}

// TestUnsealPostsCostNothingReplicated: unseal needs no principal, so the
// posts that open nothing (shares to an unsealed node, resets) are only
// counted, whatever the number of source addresses; only the unseal that
// opens a node is an event.
func TestUnsealPostsCostNothingReplicated(t *testing.T) {
	api, _, share := devNode(t)
	before := len(auditEvents(t, api, ""))
	for i := 0; i < 40; i++ {
		// One address each: the per-address throttle is no defence here.
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 9, byte(i/200), byte(1+i%200))}}
		hc := &http.Client{Transport: &http.Transport{DialContext: d.DialContext}}
		body := `{"key":"` + share + `"}`
		if i%2 == 1 {
			body = `{"reset":true}`
		}
		resp, err := hc.Post(api+"/v1/sys/unseal", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		hc.CloseIdleConnections()
	}
	if after := len(auditEvents(t, api, "")); after > before+1 { // at most one summary
		t.Fatalf("40 unseal posts to an unsealed node grew the audit log from %d to %d events", before, after)
	}
}
