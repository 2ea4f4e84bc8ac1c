package e2e

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/keyraft/keyraft/transport/clusterpb"
	"github.com/keyraft/keyraft/transport/nodeproof"
	"github.com/keyraft/keyraft/transport/tlsconfig"
)

// TestClusterMutualTLS runs three nodes with HTTPS on the API, mutual TLS
// on the cluster and raft listeners and encrypted gossip (all from
// `operator tls-gen` and `operator gossip-keygen`): they form, init and
// unseal through a follower, and serve Encrypt through a follower to the
// AWS SDK over HTTPS. Then a fourth node with the gossip key but a
// certificate of another CA is refused: it never enters the raft
// configuration nor receives the log, no unseal share goes to it, and
// forwards and raft RPCs with its certificate, with none, or in plaintext
// fail; a fifth node with a valid certificate but another gossip key never
// even joins gossip.
func TestClusterMutualTLS(t *testing.T) {
	ca := tlsGen(t, "n1", "n2", "n3", "n5")
	other := tlsGen(t, "n4") // a second tls-gen: another CA
	gossipKey := gossipKeygen(t)
	c := startClusterWith(t, func(p *proc) { p.secure(ca, gossipKey) })
	c.init("-key-shares", "3", "-key-threshold", "2")
	follower := c.nodes[1] // any node: unseal -all reaches the others from it
	c.waitInitialized(20 * time.Second)
	for _, k := range c.creds.Keys[:c.creds.Threshold] {
		out := unsealAll(t, follower.api, k)
		if len(out) != 3 {
			t.Fatalf("unseal -all reached %d nodes: %+v", len(out), out)
		}
		for id, errText := range out {
			if errText != "" {
				t.Fatalf("unseal -all: %s: %s", id, errText)
			}
		}
	}
	for _, p := range c.nodes {
		if st, err := status(t, p.api); err != nil || st.Sealed {
			t.Fatalf("%s after unseal -all: %+v %v", p.id, st, err)
		}
	}
	leader := c.waitLeader(15*time.Second, "")
	if follower == leader {
		follower = c.follower(leader)
	}

	// KMS through a follower, over HTTPS, forwarded to the leader over mTLS.
	fc := kmsClient(follower.api, c.creds, 3)
	key, err := fc.CreateKey(ctx10(t), &kms.CreateKeyInput{Description: aws.String("mtls")})
	if err != nil {
		t.Fatal(err)
	}
	plaintext := []byte("over mutual TLS")
	enc, err := fc.Encrypt(ctx10(t), &kms.EncryptInput{KeyId: key.KeyMetadata.KeyId, Plaintext: plaintext})
	if err != nil {
		t.Fatalf("Encrypt through follower %s: %v", follower.id, err)
	}
	dec, err := kmsClient(leader.api, c.creds, 3).Decrypt(ctx10(t), &kms.DecryptInput{CiphertextBlob: enc.CiphertextBlob})
	if err != nil || !bytes.Equal(dec.Plaintext, plaintext) {
		t.Fatalf("Decrypt through the leader: %v", err)
	}
	// The API speaks only TLS.
	if resp, err := http.Get("http://" + strings.TrimPrefix(follower.api, "https://") + "/v1/sys/seal-status"); err == nil {
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("plain HTTP to the HTTPS API: HTTP %d", resp.StatusCode)
		}
	}

	rogue := newProc(t, "n4", 3)
	rogue.secure(other, gossipKey)
	rogue.start([]string{c.nodes[0].gossip})
	stranger := newProc(t, "n5", 3)
	stranger.secure(ca, gossipKeygen(t))
	stranger.start([]string{c.nodes[0].gossip})

	// The rogue is in gossip, and the leader has checked its certificate
	// and refused it.
	leader = c.waitLeader(10*time.Second, "")
	waitFor(t, 20*time.Second, "the leader to refuse n4's certificate", func() (bool, error) {
		return logHas([]*proc{leader}, "refusing server", "node_id=n4")
	})
	// An unseal -all sends n4 no share: it goes only to voters (whose
	// cluster certificates the client checks again).
	out := unsealAll(t, leader.api, c.creds.Keys[0])
	if _, ok := out["n4"]; ok {
		t.Fatalf("unseal -all and n4: %+v (want n4 left out: it is no voter)", out)
	}
	if _, ok := out["n5"]; ok {
		t.Fatalf("n5, with another gossip key, is in gossip: %+v", out)
	}

	// Over eight reconcile rounds neither joins raft, and the rogue
	// receives no log.
	holdsFor(t, 8*reconcileInterval, "n4 and n5 staying out of the raft configuration", func() (bool, error) {
		for _, id := range []string{"n4", "n5"} {
			if in, _ := inRaftConfiguration(t, leader.api, id); in {
				return false, fmt.Errorf("%s is in the raft configuration", id)
			}
		}
		return true, nil
	})
	for _, p := range []*proc{rogue, stranger} {
		st, err := status(t, p.api)
		if err != nil {
			t.Fatal(err)
		}
		if st.Initialized || st.RaftIndex != 0 || st.LeaderID != "" || st.Progress != 0 {
			t.Fatalf("%s received cluster state: %+v", p.id, st)
		}
	}

	// Forwards on the cluster listener: only a cluster certificate gets in.
	leaderStatus, err := status(t, leader.api)
	if err != nil {
		t.Fatal(err)
	}
	n3cert, n3key := ca.node("n3")
	member := loadCluster(t, ca.caFile(), n3cert, n3key).ClientConfig("")
	n4cert, n4key := other.node("n4")
	rogueCfg := loadCluster(t, other.caFile(), n4cert, n4key).ClientConfig("")
	rogueCfg.VerifyConnection = nil // accept the leader, so only the leader's check stands
	noCert := &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS13}
	for _, tc := range []struct {
		name  string
		creds credentials.TransportCredentials
		ok    bool
	}{
		// The cluster listener sends its identity proof first, then the
		// caller proves its own (nodeproof): n3's certificate needs n3's
		// identity key, a stolen certificate alone gets nothing.
		{"certificate and identity key of n3", nodeproof.Creds(credentials.NewTLS(member), identityKey(t, c, "n3"), nil, 5*time.Second), true},
		{"n3's certificate with another identity key", nodeproof.Creds(credentials.NewTLS(member), ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize)), nil, 5*time.Second), false},
		{"certificate of another CA", credentials.NewTLS(rogueCfg), false},
		{"no certificate", credentials.NewTLS(noCert), false},
		{"plaintext", insecure.NewCredentials(), false},
	} {
		resp, err := forwardStatus(leader.cluster, tc.creds)
		if tc.ok && (err != nil || resp.Status != http.StatusOK) {
			t.Errorf("forward with %s: %v %v", tc.name, resp, err)
		}
		if !tc.ok && err == nil {
			t.Errorf("forward with %s was served: HTTP %d", tc.name, resp.Status)
		}
		t.Logf("forward with %s: %v", tc.name, err)
	}

	// Raft: the rogue's certificate is refused by the leader's raft
	// listener, and a plaintext vote request with a far higher term gets no
	// answer and moves no term.
	if err := tlsRoundTrip(leader.raft, rogueCfg); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("the leader's raft listener and a certificate of another CA: %v (want a certificate error)", err)
	} else {
		t.Logf("raft with a certificate of another CA: %v", err)
	}
	plain, err := raft.NewTCPTransportWithLogger("127.0.0.1:0", nil, 1, 2*time.Second, hclog.NewNullLogger())
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	var vote raft.RequestVoteResponse
	err = plain.RequestVote("n4", raft.ServerAddress(leader.raft),
		&raft.RequestVoteRequest{RPCHeader: raft.RPCHeader{ID: []byte("n4"), Addr: []byte(rogue.raft)}, Term: leaderStatus.Term + 100, LastLogIndex: 1 << 40, LastLogTerm: leaderStatus.Term + 100}, &vote)
	if err == nil {
		t.Errorf("a plaintext RequestVote was answered: %+v", vote)
	}
	if st, err := status(t, leader.api); err != nil || st.Term != leaderStatus.Term || st.LeaderID != leader.id {
		t.Errorf("after the rogue's vote request: %+v %v (term was %d)", st, err, leaderStatus.Term)
	}
}

func loadCluster(t *testing.T, ca, cert, key string) *tlsconfig.Cluster {
	t.Helper()
	c, err := tlsconfig.LoadCluster(ca, cert, key)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// forwardStatus asks the node at addr, over its cluster listener, to serve
// GET /v1/sys/seal-status as a forwarded request.
func forwardStatus(addr string, creds credentials.TransportCredentials) (*clusterpb.HTTPResponse, error) {
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(creds))
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return clusterpb.NewClusterClient(conn).Forward(ctx, &clusterpb.HTTPRequest{Method: http.MethodGet, Path: "/v1/sys/seal-status", Host: addr})
}

// tlsRoundTrip completes a handshake with addr and one byte each way; with
// TLS 1.3 a refused client certificate shows on the first read.
func tlsRoundTrip(addr string, cfg *tls.Config) error {
	conn, err := tls.Dial("tcp", addr, cfg)
	if err != nil {
		return err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := conn.Write([]byte{0}); err != nil {
		return err
	}
	_, err = conn.Read(make([]byte, 1))
	if err == nil {
		return fmt.Errorf("no error")
	}
	return err
}

// identityKey is the identity key node id keeps in its data dir.
func identityKey(t *testing.T, c *cluster, id string) ed25519.PrivateKey {
	t.Helper()
	for _, p := range c.nodes {
		if p.id != id {
			continue
		}
		b, err := os.ReadFile(filepath.Join(p.dataDir, "node-identity"))
		if err != nil {
			t.Fatal(err)
		}
		seed, err := hex.DecodeString(strings.TrimSpace(string(b)))
		if err != nil || len(seed) != ed25519.SeedSize {
			t.Fatalf("%s's node-identity: %v", id, err)
		}
		return ed25519.NewKeyFromSeed(seed)
	}
	t.Fatalf("no node %s", id)
	return nil
}
