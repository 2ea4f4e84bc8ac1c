package e2e

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
)

// TestClusterSurvivesLeaderLoss is the spine: init, unseal all, create and
// encrypt through a follower, kill the leader, decrypt through a survivor,
// restart the killed node from its data dir and see it catch up.
func TestClusterSurvivesLeaderLoss(t *testing.T) {
	c := startCluster(t)

	// Init through a node, forwarded to the leader when it does not lead.
	c.init("-key-shares", "5", "-key-threshold", "3")
	if len(c.creds.Keys) != 5 || c.creds.Threshold != 3 || c.creds.Shares != 5 || c.creds.AccessKeyID == "" || c.creds.SecretAccessKey == "" {
		t.Fatalf("init output incomplete: %+v", c.creds)
	}
	for _, p := range c.nodes {
		if err := operator(t, p.api, nil, "init", "-key-shares", "1", "-key-threshold", "1"); err == nil {
			t.Fatalf("second init through %s succeeded", p.id)
		}
		// Every node starts sealed and answers KMS with the retryable error.
		_, err := kmsClient(p.api, c.creds, 1).ListKeys(ctxTimeout(t, 10*time.Second), &kms.ListKeysInput{})
		if apiCode(err) != "ServiceUnavailableException" {
			t.Fatalf("sealed %s answered ListKeys with %v", p.id, err)
		}
	}

	// Each node takes the share holders' shares: this cluster runs with
	// -insecure, which refuses unseal -all (TestClusterMutualTLS and
	// TestRoguesNeverJoinATLSCluster unseal with it under mutual TLS).
	c.unsealEach()
	for _, p := range c.nodes {
		st, err := status(t, p.api)
		if err != nil || st.Sealed || !st.Initialized {
			t.Fatalf("%s after unseal: %+v %v", p.id, st, err)
		}
	}
	leader := c.waitLeader(15*time.Second, "")

	follower := c.follower(leader)
	fc := kmsClient(follower.api, c.creds, 3)
	key, err := fc.CreateKey(ctxTimeout(t, 10*time.Second), &kms.CreateKeyInput{Description: aws.String("spine")})
	if err != nil {
		t.Fatal(err)
	}
	plaintext := []byte("the spine holds")
	encCtx := map[string]string{"purpose": "test"}
	enc, err := fc.Encrypt(ctxTimeout(t, 10*time.Second), &kms.EncryptInput{KeyId: key.KeyMetadata.KeyId, Plaintext: plaintext, EncryptionContext: encCtx})
	if err != nil {
		t.Fatal(err)
	}

	leader.kill()
	t0 := time.Now()
	newLeader := c.waitLeader(10*time.Second, leader.id)
	t.Logf("killed leader %s; %s leads after %s", leader.id, newLeader.id, time.Since(t0).Round(time.Millisecond))

	for _, p := range c.nodes {
		if p == leader {
			continue
		}
		dec, err := kmsClient(p.api, c.creds, 5).Decrypt(ctxTimeout(t, 20*time.Second), &kms.DecryptInput{CiphertextBlob: enc.CiphertextBlob, EncryptionContext: encCtx})
		if err != nil {
			t.Fatalf("decrypt through %s after failover: %v", p.id, err)
		}
		if !bytes.Equal(dec.Plaintext, plaintext) {
			t.Fatalf("decrypt through %s gave %q", p.id, dec.Plaintext)
		}
	}

	// Restart the killed node from its data dir: it rejoins sealed, catches
	// up to the leader's index, and serves once unsealed. (Its Raft index is
	// for principals to see, which a sealed node cannot check.)
	leader.start([]string{newLeader.gossip})
	c.unseal(leader)
	waitFor(t, 20*time.Second, "the restarted node to catch up", func() (bool, error) {
		a, err := status(t, leader.api)
		if err != nil {
			return false, err
		}
		b, err := status(t, newLeader.api)
		if err != nil {
			return false, err
		}
		return a.RaftIndex == b.RaftIndex && a.LeaderID == newLeader.id, fmt.Errorf("restarted at %d, leader at %d", a.RaftIndex, b.RaftIndex)
	})
	dec, err := kmsClient(leader.api, c.creds, 5).Decrypt(ctxTimeout(t, 20*time.Second), &kms.DecryptInput{CiphertextBlob: enc.CiphertextBlob, EncryptionContext: encCtx})
	if err != nil || !bytes.Equal(dec.Plaintext, plaintext) {
		t.Fatalf("decrypt through the restarted node: %v", err)
	}

	t.Run("SealedLeaderHandsOff", func(t *testing.T) { testSealedLeaderHandsOff(t, c, enc.CiphertextBlob, encCtx) })
	t.Run("WrongSharesChangeNothing", func(t *testing.T) { testWrongShares(t, c) })
	t.Run("JoinAndRemovePeer", func(t *testing.T) { testJoinAndRemove(t, c) })
	t.Run("LeaderlessAnswersRetryable", func(t *testing.T) { testLeaderless(t, c, key.KeyMetadata.KeyId) })
}

// testLeaderless kills two of three nodes: the survivor cannot have a leader
// and must answer promptly with the retryable error, never hang.
func testLeaderless(t *testing.T, c *cluster, keyID *string) {
	survivor := c.nodes[0]
	for _, p := range c.nodes[1:] {
		p.kill()
	}
	client := kmsClient(survivor.api, c.creds, 1)
	waitFor(t, 20*time.Second, "the survivor to answer ServiceUnavailableException", func() (bool, error) {
		start := time.Now()
		_, err := client.Encrypt(ctxTimeout(t, 30*time.Second), &kms.EncryptInput{KeyId: keyID, Plaintext: []byte("x")})
		if took := time.Since(start); took > 20*time.Second {
			t.Fatalf("a leaderless node took %s to answer", took)
		}
		return apiCode(err) == "ServiceUnavailableException", err
	})
	// Once its election timeout passes, it knows there is no leader, and
	// still answers promptly.
	waitFor(t, 20*time.Second, "the survivor to report no leader", func() (bool, error) {
		st, err := status(t, survivor.api)
		return err == nil && st.LeaderID == "", err
	})
	start := time.Now()
	_, err := client.Encrypt(ctxTimeout(t, 30*time.Second), &kms.EncryptInput{KeyId: keyID, Plaintext: []byte("x")})
	if apiCode(err) != "ServiceUnavailableException" || time.Since(start) > 20*time.Second {
		t.Fatalf("leaderless Encrypt: %v after %s", err, time.Since(start))
	}
}

func testSealedLeaderHandsOff(t *testing.T, c *cluster, blob []byte, encCtx map[string]string) {
	leader := c.waitLeader(10*time.Second, "")
	if err := operator(t, leader.api, nil, "seal"); err != nil {
		t.Fatal(err)
	}
	newLeader := c.waitLeader(10*time.Second, leader.id)
	t.Logf("sealed leader %s handed off to %s", leader.id, newLeader.id)

	_, err := kmsClient(leader.api, c.creds, 1).Encrypt(ctxTimeout(t, 10*time.Second), &kms.EncryptInput{KeyId: aws.String("alias/any"), Plaintext: []byte("x")})
	if apiCode(err) != "ServiceUnavailableException" {
		t.Fatalf("sealed node answered Encrypt with %v", err)
	}
	var re interface{ HTTPStatusCode() int }
	if !errors.As(err, &re) || re.HTTPStatusCode() != 503 {
		t.Fatalf("sealed node's error is not HTTP 503: %v", err)
	}
	dec, err := kmsClient(newLeader.api, c.creds, 3).Decrypt(ctxTimeout(t, 10*time.Second), &kms.DecryptInput{CiphertextBlob: blob, EncryptionContext: encCtx})
	if err != nil || dec.Plaintext == nil {
		t.Fatalf("unsealed leader could not decrypt: %v", err)
	}
	c.unseal(leader)
}

func testWrongShares(t *testing.T, c *cluster) {
	p := c.nodes[2]
	if err := operator(t, p.api, nil, "seal"); err != nil {
		t.Fatal(err)
	}
	keysBefore, err := kmsClient(c.nodes[0].api, c.creds, 3).ListKeys(ctx10(t), &kms.ListKeysInput{})
	if err != nil {
		t.Fatal(err)
	}

	if err := operator(t, p.api, nil, "unseal", "not base64!"); err == nil {
		t.Fatal("a malformed share was accepted")
	}
	// A tampered share: same length, one byte flipped.
	raw, _ := base64.StdEncoding.DecodeString(c.creds.Keys[0])
	raw[3] ^= 0x5a
	bad := base64.StdEncoding.EncodeToString(raw)
	for _, k := range []string{c.creds.Keys[1], c.creds.Keys[2]} {
		if err := operator(t, p.api, nil, "unseal", k); err != nil {
			t.Fatal(err)
		}
	}
	err = operator(t, p.api, nil, "unseal", bad)
	if err == nil {
		t.Fatal("a tampered share set unsealed the node")
	}
	t.Logf("wrong share set: %v", err)
	st, err := status(t, p.api)
	if err != nil || !st.Sealed || st.Progress != 0 {
		t.Fatalf("after a wrong share set: %+v %v (want sealed, progress reset)", st, err)
	}
	// Nothing changed but the audit log, which summarises the failed attempts.
	keysAfter, err := kmsClient(c.nodes[0].api, c.creds, 3).ListKeys(ctx10(t), &kms.ListKeysInput{})
	if err != nil || len(keysAfter.Keys) != len(keysBefore.Keys) {
		t.Fatalf("keys changed across a failed unseal: %v", err)
	}
	// A summary is written at once after a quiet minute, else when the
	// minute since the last one ends (earlier subtests may have failed
	// unseals on this node): wait out that minute.
	waitFor(t, 90*time.Second, "the failed unseal in the audit log", func() (bool, error) {
		for _, ev := range auditEvents(t, c.nodes[0].api, "event_name=OperatorUnsealFailures") {
			if ev["keyraftNodeId"] == p.id && ev["errorCode"] == "OperatorError" {
				return true, nil
			}
		}
		return false, nil
	})
	c.unseal(p)
}

func testJoinAndRemove(t *testing.T, c *cluster) {
	n4 := newProc(t, "n4", 3)
	c.adopt(n4)
	n4.start([]string{c.nodes[0].gossip})
	var peers []peerInfo // as last listed
	hasVoter := func(id string) (bool, error) {
		listed, err := listPeers(t, c.nodes[0].api)
		if err != nil {
			return false, err
		}
		peers = listed
		for _, p := range peers {
			if p.ID == id && p.Voter {
				return true, nil
			}
		}
		return false, fmt.Errorf("peers: %+v", peers)
	}
	waitFor(t, 20*time.Second, "n4 to join as a voter", func() (bool, error) { return hasVoter("n4") })
	if err := operator(t, c.nodes[1].api, nil, "raft", "remove-peer", "n4"); err != nil {
		t.Fatal(err)
	}
	// It stays removed although it keeps gossiping: watch four reconcile
	// rounds of the leader, any of which would add it back.
	holdsFor(t, 4*reconcileInterval, "n4 staying removed", func() (bool, error) {
		in, _ := hasVoter("n4")
		return !in, fmt.Errorf("n4 is back in the configuration: %+v", peers)
	})
	if len(peers) != 3 {
		t.Fatalf("after remove-peer: %+v", peers)
	}
	if err := operator(t, c.nodes[1].api, nil, "raft", "remove-peer", "nope"); err == nil {
		t.Fatal("removing an unknown peer succeeded")
	}
}

// TestRemoveTheLeader: removing the leader itself hands leadership off
// first, so the removal is done, and recorded, by the next leader. Once
// through a follower (forwarded, then forwarded again after the hand-off)
// and once asking the leader directly, down to one server.
func TestRemoveTheLeader(t *testing.T) {
	c := startUnsealedCluster(t)
	leader := c.waitLeader(15*time.Second, "")
	follower := c.follower(leader)
	if err := operator(t, follower.api, nil, "raft", "remove-peer", leader.id); err != nil {
		t.Fatalf("remove the leader %s through %s: %v", leader.id, follower.id, err)
	}
	second := c.waitLeader(15*time.Second, leader.id)
	if err := operator(t, second.api, nil, "raft", "remove-peer", second.id); err != nil {
		t.Fatalf("remove the leader %s through itself: %v", second.id, err)
	}
	var last *proc
	for _, p := range c.nodes {
		if p != leader && p != second {
			last = p
		}
	}
	var peers struct {
		Peers []struct {
			ID     string `json:"node_id"`
			Leader bool   `json:"leader"`
		} `json:"peers"`
	}
	waitFor(t, 20*time.Second, last.id+" alone and leading", func() (bool, error) {
		err := operator(t, last.api, &peers, "raft", "list-peers")
		return err == nil && len(peers.Peers) == 1 && peers.Peers[0].ID == last.id && peers.Peers[0].Leader, fmt.Errorf("peers %+v (%v)", peers.Peers, err)
	})
	// The last voter is not removed: nothing would be left.
	if err := operator(t, last.api, nil, "raft", "remove-peer", last.id); err == nil || !strings.Contains(err.Error(), "only voter") {
		t.Fatalf("removing the last voter: %v", err)
	}
	if _, err := kmsClient(last.api, c.creds, 3).CreateKey(ctx10(t), &kms.CreateKeyInput{}); err != nil {
		t.Fatalf("the last server does not serve: %v", err)
	}
	removed, refused := map[any]int{}, map[any]int{}
	for _, ev := range auditEvents(t, last.api, "event_name=OperatorRemovePeer") {
		id := ev["requestParameters"].(map[string]any)["removedNodeId"]
		if ev["errorCode"] == nil {
			removed[id]++
		} else {
			refused[id]++
		}
	}
	if removed[leader.id] != 1 || removed[second.id] != 1 || len(removed) != 2 || refused[last.id] != 1 || len(refused) != 1 {
		t.Fatalf("OperatorRemovePeer events by removed node: %v, refused %v; want %s and %s once each, %s refused once", removed, refused, leader.id, second.id, last.id)
	}
	if out, err := auditCLI(last.api, "verify").CombinedOutput(); err != nil {
		t.Fatalf("audit verify: %v %s", err, out)
	}
}

// TestUnsealFloodWhileLeaderless: unseal needs no principal, and the
// events it makes (the unseal that opens the node, the failure summaries)
// are offered to a leader in the background. While there is none, a flood
// of unseal calls must not leave a goroutine per call behind, nor queue an
// event per call. Each source address is throttled after a burst, so the
// flood comes from 32 loopback addresses.
func TestUnsealFloodWhileLeaderless(t *testing.T) {
	pprof := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	c := startUnsealedClusterWith(t, func(p *proc) {
		if p.id == "n1" {
			p.args = append(p.args, "-pprof-addr", pprof)
		}
	})
	survivor := c.nodes[0]
	for _, p := range c.nodes[1:] {
		p.kill()
	}
	waitFor(t, 20*time.Second, survivor.id+" to have no leader", func() (bool, error) {
		st, err := status(t, survivor.api)
		return err == nil && st.LeaderID == "", fmt.Errorf("leader %q (%v)", st.LeaderID, err)
	})
	goroutines := func() int {
		t.Helper()
		resp, err := http.Get("http://" + pprof + "/debug/pprof/goroutine?debug=1")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var n int
		if _, err := fmt.Fscanf(resp.Body, "goroutine profile: total %d", &n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	before := goroutines()
	const calls = 1000
	body := `{"key":"` + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 33)) + `"}`
	var wg sync.WaitGroup
	next := make(chan struct{}, calls)
	for range calls {
		next <- struct{}{}
	}
	close(next)
	var throttled atomic.Int64
	for i := range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			dialer := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(2+i))}}
			client := &http.Client{Transport: &http.Transport{DialContext: dialer.DialContext}}
			defer client.CloseIdleConnections()
			for range next {
				resp, err := client.Post(survivor.api+"/v1/sys/unseal", "application/json", strings.NewReader(body))
				if err != nil {
					t.Error(err)
					return
				}
				if resp.StatusCode == http.StatusTooManyRequests {
					throttled.Add(1)
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		}()
	}
	wg.Wait()
	if throttled.Load() < calls/2 {
		t.Fatalf("only %d of %d unseal calls from 32 addresses were throttled", throttled.Load(), calls)
	}
	if after := goroutines(); after-before > 256+64 {
		t.Fatalf("%d unseal calls while leaderless left %d goroutines (%d before)", calls, after, before)
	}
	log, err := os.ReadFile(survivor.logPath)
	if err != nil {
		t.Fatal(err)
	}
	// Shares that open nothing are counted, not events: the flood left
	// nothing waiting for a leader, so nothing was dropped either.
	if bytes.Contains(log, []byte("too many operator events are waiting for a leader")) {
		t.Fatal("unseal posts that opened nothing were queued as audit events")
	}
}
