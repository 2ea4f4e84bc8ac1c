package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
)

// serveWithin is how soon after its first unseal share a restarted node
// must serve KMS requests (issue 17: "within 2 s of its first share").
const serveWithin = 2 * time.Second

// stop ends p as an operator's restart does (SIGTERM: it leaves gossip and
// shuts raft down) and waits for it to exit.
func (p *proc) stop() {
	p.t.Helper()
	p.signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = p.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		p.t.Fatalf("%s did not exit within 30 s of SIGTERM", p.id)
	}
}

// publicReady is the `ready` of p's unauthenticated seal-status.
func publicReady(p *proc) (bool, error) {
	req, err := http.NewRequest(http.MethodGet, p.api+"/v1/sys/seal-status", nil)
	if err != nil {
		return false, err
	}
	resp, err := httpClient(p.api).Do(req)
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	var out struct {
		Ready *bool `json:"ready"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return false, err
	}
	if out.Ready == nil {
		return false, fmt.Errorf("%s's seal-status has no ready field", p.id)
	}
	return *out.Ready, nil
}

// encryptVia encrypts through p alone, one attempt, bounded.
func encryptVia(c *cluster, p *proc, keyID string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	_, err := kmsClient(p.api, c.creds, 1).Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String(keyID), Plaintext: []byte("restart")})
	return err
}

func createKey(t *testing.T, c *cluster, via *proc) string {
	t.Helper()
	var id string
	waitFor(t, 15*time.Second, "a key created through "+via.id, func() (bool, error) {
		out, err := kmsClient(via.api, c.creds, 1).CreateKey(ctx10(t), &kms.CreateKeyInput{})
		if err != nil {
			return false, err
		}
		id = aws.ToString(out.KeyMetadata.KeyId)
		return true, nil
	})
	return id
}

// unsealAndServe unseals the restarted node p and checks that it serves
// KMS requests within serveWithin of its first share, and that it says it
// is ready only when it does: before its shares it is not ready, and the
// first time it says it is, a request through it succeeds.
func unsealAndServe(t *testing.T, c *cluster, p *proc, keyID string) {
	t.Helper()
	if ready, err := publicReady(p); err != nil || ready {
		t.Fatalf("%s says ready=%v (%v) while still sealed", p.id, ready, err)
	}
	first := time.Now()
	for _, k := range c.creds.Keys[:c.creds.Threshold] {
		if err := operator(t, p.api, nil, "unseal", k); err != nil {
			t.Fatalf("%s refused its unseal share %s after its first share: %v", p.id, time.Since(first).Round(time.Millisecond), err)
		}
	}
	var lastErr error
	for time.Since(first) < serveWithin {
		ready, err := publicReady(p)
		if err != nil {
			t.Fatal(err)
		}
		if !ready {
			lastErr = fmt.Errorf("%s not ready yet", p.id)
			time.Sleep(pollEvery)
			continue
		}
		if err := encryptVia(c, p, keyID); err != nil {
			t.Fatalf("%s said it was ready but failed a request: %v", p.id, err)
		}
		t.Logf("%s ready and serving %s after its first share", p.id, time.Since(first).Round(time.Millisecond))
		return
	}
	t.Fatalf("%s not ready %s after its first share: %v (an encrypt through it: %v)", p.id, serveWithin, lastErr, encryptVia(c, p, keyID))
}

// TestRestartedSeedRejoins: the node every other node joined through
// (their -join names its gossip port; its own names no one) is restarted
// from its data dir with the same flags. It must find its cluster again
// from what it knew, not from -join, and serve at once once unsealed.
func TestRestartedSeedRejoins(t *testing.T) {
	c := &cluster{t: t}
	for i := 1; i <= 3; i++ {
		c.add(newProc(t, fmt.Sprintf("n%d", i), 3))
	}
	seed := c.nodes[0]
	seed.start(nil)
	for _, p := range c.nodes[1:] {
		p.start([]string{seed.gossip})
	}
	c.waitUp(15 * time.Second)
	c.init("-key-shares", "3", "-key-threshold", "2")
	c.unsealEach()
	leader := c.waitLeader(10*time.Second, "")
	keyID := createKey(t, c, leader)

	seed.stop()
	c.waitLeader(10*time.Second, seed.id)
	seed.start(nil)
	seed.waitUp(15 * time.Second)
	unsealAndServe(t, c, seed, keyID)
}

// TestRestartServesAfterDowntime: a follower down for 10 s, or for 2 min
// (long enough for raft's replication back-off to the missing peer to reach
// its ~10 s ceiling), restarted, takes its shares at once and serves within
// serveWithin of the first. The downtime is the behaviour under test, so it
// is slept; the cluster takes writes meanwhile so the node has to catch up.
func TestRestartServesAfterDowntime(t *testing.T) {
	for _, down := range []time.Duration{10 * time.Second, 2 * time.Minute} {
		t.Run(down.String(), func(t *testing.T) {
			c := startUnsealedCluster(t)
			leader := c.waitLeader(10*time.Second, "")
			keyID := createKey(t, c, leader)
			p := c.follower(leader)
			p.stop()
			deadline := time.Now().Add(down)
			for time.Now().Before(deadline) {
				// Through the leader, or whoever it forwards to after an
				// election: only the log growing matters here.
				_ = encryptVia(c, leader, keyID)
				time.Sleep(min(time.Second, time.Until(deadline)))
			}
			p.start(c.seeds())
			p.waitUp(15 * time.Second)
			unsealAndServe(t, c, p, keyID)
		})
	}
}
