package e2e

import (
	"context"
	"encoding/json"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/kms"
)

// raftView is the part of GET /v1/sys/status this test watches.
type raftView struct {
	LeaderID  string `json:"leader_id"`
	RaftState string `json:"raft_state"`
	Term      uint64 `json:"term"`
	// LastContactMS: how long ago the node last heard from its leader.
	LastContactMS int64 `json:"last_contact_ms"`
}

// raftStatus reads a node's status directly over HTTP, signed as its
// cluster's root (not through the CLI, so it can be polled every few
// milliseconds).
func raftStatus(api string) (raftView, error) {
	var v raftView
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	err := getJSON(ctx, api, "/v1/sys/status", func(dec *json.Decoder) error { return dec.Decode(&v) })
	return v, err
}

// TestFollowerWithoutLeaderContactAnswersAtOnce: a follower that has heard
// nothing from its leader for a heartbeat timeout (1 s by default) answers
// KMS requests with a retryable 503 at once instead of forwarding them to a
// leader it cannot reach, where they hung until the client gave up (found by
// jepsen/: requests to a cut-off node waited out the client's timeout).
//
// The leader and the other follower are stopped (SIGSTOP), so no election can
// end the window. Raft's follower loop only drops the leader it knows at a
// heartbeat timer tick that comes a random [1, 2) heartbeat timeouts after
// the previous one, so for up to two heartbeat timeouts after the timeout
// proper the remaining follower still names the stopped leader and, without
// the lastContact check, forwards into it. The test sends a request only while
// seal-status reports that state both before and after the request, which
// proves the request went through that forwarding path; if a trial's window
// closed before a request could be sent, the nodes are resumed and the trial
// repeated.
func TestFollowerWithoutLeaderContactAnswersAtOnce(t *testing.T) {
	c := startUnsealedCluster(t)
	var stopped []*proc
	t.Cleanup(func() { // a stopped process would survive its SIGKILL cleanup only as a zombie; resume first
		for _, p := range stopped {
			_ = p.cmd.Process.Signal(syscall.SIGCONT)
		}
	})

	const (
		heartbeatTimeout = time.Second             // the cluster default (config.Default)
		margin           = 300 * time.Millisecond  // beyond the leader's last heartbeat (sent every 100 ms)
		fast             = 1000 * time.Millisecond // a 503 from the follower itself takes milliseconds
		clientTimeout    = 4 * time.Second
	)
	sampled := 0
	for trial := 1; trial <= 10 && sampled == 0; trial++ {
		leader := c.waitLeader(20*time.Second, "")
		var f, other *proc
		for _, p := range c.nodes {
			switch {
			case p == leader:
			case f == nil:
				f = p
			default:
				other = p
			}
		}
		cl := kmsClient(f.api, c.creds, 1)
		// The follower forwards fine while its leader is up.
		if _, err := cl.ListKeys(ctxTimeout(t, 10*time.Second), &kms.ListKeysInput{}); err != nil {
			t.Fatalf("trial %d: ListKeys through follower %s before the pause: %v", trial, f.id, err)
		}

		stopped = []*proc{leader, other}
		other.signal(syscall.SIGSTOP)
		leader.signal(syscall.SIGSTOP)
		t0 := time.Now()
		t.Logf("trial %d: stopped leader %s and follower %s; asking follower %s", trial, leader.id, other.id, f.id)

		// Still following the stopped leader: the state in which the old
		// code forwarded. Gossip marks the stopped leader dead only after
		// ~4 s of failed probes (memberlist's LAN suspicion timeout), which
		// would also answer 503 at once, so requests stop before 3 s.
		stillFollowing := func() bool {
			v, err := raftStatus(f.api)
			return err == nil && v.RaftState == "Follower" && v.LeaderID == leader.id
		}
		// Until the follower has gone a heartbeat timeout without contact it
		// rightly forwards, and a request would hang: wait for its status
		// to say so (or for it to drop the leader, which ends the trial).
		waitFor(t, 3*heartbeatTimeout, "follower "+f.id+" to go a heartbeat timeout without leader contact", func() (bool, error) {
			v, err := raftStatus(f.api)
			if err != nil {
				return false, err
			}
			return v.LastContactMS >= (heartbeatTimeout+margin).Milliseconds() || v.RaftState != "Follower" || v.LeaderID != leader.id, nil
		})
		for time.Since(t0) < 3*heartbeatTimeout && stillFollowing() {
			start := time.Now()
			ctx, cancel := context.WithTimeout(context.Background(), clientTimeout)
			_, err := cl.ListKeys(ctx, &kms.ListKeysInput{})
			cancel()
			took := time.Since(start)
			if took > fast { // only a forward into the stopped leader waits
				t.Fatalf("a request to follower %s, %s after its leader %s stopped, took %s (client timeout %s, %v): it was forwarded to the unreachable leader instead of answered at once",
					f.id, start.Sub(t0).Round(time.Millisecond), leader.id, took.Round(time.Millisecond), clientTimeout, err)
			}
			if !stillFollowing() {
				break // the follower dropped the leader while the request ran: a fast answer proves nothing
			}
			if sampled++; sampled == 1 {
				t.Logf("trial %d: %s after the pause, follower %s still following %s: ListKeys answered in %s: %v",
					trial, start.Sub(t0).Round(time.Millisecond), f.id, leader.id, took.Round(time.Millisecond), err)
			}
			if code := apiCode(err); code != "ServiceUnavailableException" {
				t.Fatalf("a request to follower %s cut off from its leader answered %v, want ServiceUnavailableException", f.id, err)
			}
			time.Sleep(50 * time.Millisecond) // spaces the samples; waits for nothing
		}
		if sampled == 0 {
			t.Logf("trial %d: follower %s left the stopped leader before a request could be sent; again", trial, f.id)
		} else {
			t.Logf("trial %d: %d requests through follower %s while it still followed the stopped %s, each answered 503 at once", trial, sampled, f.id, leader.id)
		}
		leader.signal(syscall.SIGCONT)
		other.signal(syscall.SIGCONT)
		stopped = nil
	}
	if sampled == 0 {
		t.Fatal("in 10 trials no request reached a follower still following a stopped leader")
	}
}
