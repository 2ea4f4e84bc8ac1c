package e2e

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"
)

// TestServerRefusesAnUnauthenticatedCluster: a server without cluster
// mutual TLS and a gossip key exits at once, saying what to give it or that
// -insecure runs it in plaintext; -pprof-addr takes only loopback.
func TestServerRefusesAnUnauthenticatedCluster(t *testing.T) {
	k := tlsGen(t, "n1", "n5")
	cert, key := k.node("n1")
	cert5, key5 := k.node("n5")
	gk := gossipKeygen(t)
	clusterTLS := []string{"-cluster-ca-file", k.caFile(), "-cluster-cert-file", cert, "-cluster-key-file", key}
	pprof := func(host string) []string {
		return []string{"-insecure", "-pprof-addr", fmt.Sprintf("%s:%d", host, freePort(t))}
	}
	for _, tc := range []struct {
		name  string
		extra []string
		want  string
	}{
		{"neither TLS nor gossip key", nil, "or pass -insecure"},
		{"cluster TLS without a gossip key", clusterTLS, "refusing to start an unauthenticated cluster node"},
		{"a gossip key without cluster TLS", []string{"-gossip-key", gk}, "refusing to start an unauthenticated cluster node"},
		{"a certificate that names another node id", []string{"-cluster-ca-file", k.caFile(), "-cluster-cert-file", cert5, "-cluster-key-file", key5, "-gossip-key", gk}, `does not name node id "n1"`},
		{"pprof on every IPv4 interface", pprof("0.0.0.0"), "not a loopback address"},
		{"pprof on every IPv6 interface", pprof("[::]"), "not a loopback address"},
		{"pprof on a non-loopback address", pprof("192.0.2.1"), "not a loopback address"},
		{"pprof with no host", pprof(""), "listens on every interface"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newProc(t, "n1", 1)
			args := append(slices.DeleteFunc(p.args, func(a string) bool { return a == "-insecure" }), tc.extra...)
			out, err := runToRefusal(10*time.Second, args)
			if errors.Is(err, errKeptRunning) {
				t.Fatalf("the server started and ran until killed:\n%s", tail(out, 2048))
			}
			if err == nil || !strings.Contains(string(out), tc.want) {
				t.Fatalf("exit %v, want a refusal saying %q:\n%s", err, tc.want, tail(out, 2048))
			}
			if entries, _ := os.ReadDir(p.dataDir); len(entries) != 0 {
				t.Fatalf("the refused server wrote its data dir: %v", entries)
			}
		})
	}
}

// TestInsecureServerWarnsAndRefusesUnsealAll: -insecure runs, logs its
// warning, says "insecure": true in its status, serves pprof on a loopback
// name, and refuses unseal -all (taking no share) while a plain unseal works.
func TestInsecureServerWarnsAndRefusesUnsealAll(t *testing.T) {
	p := newProc(t, "n1", 1)
	pprofAddr := fmt.Sprintf("localhost:%d", freePort(t))
	p.args = append(p.args, "-pprof-addr", pprofAddr)
	p.start(nil)
	var st map[string]any
	waitFor(t, 20*time.Second, "the node to answer", func() (bool, error) {
		err := operator(t, p.api, &st, "status")
		return err == nil, err
	})
	if st["insecure"] != true { // public: anyone who reaches it should know
		t.Fatalf("status of an -insecure server: %v, want \"insecure\": true", st)
	}
	waitFor(t, 10*time.Second, "the -insecure warning in the log", func() (bool, error) {
		return logHas([]*proc{p}, "INSECURE: this server runs with -insecure")
	})
	resp, err := http.Get("http://" + pprofAddr + "/debug/pprof/cmdline")
	if err != nil {
		t.Fatalf("pprof on %s: %v", pprofAddr, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("pprof on %s: HTTP %d", pprofAddr, resp.StatusCode)
	}

	var creds initOutput
	waitFor(t, 20*time.Second, "init (the node to lead)", func() (bool, error) {
		err := operator(t, p.api, &creds, "init", "-key-shares", "1", "-key-threshold", "1")
		return err == nil, err
	})
	err = operator(t, p.api, nil, "unseal", "-all", creds.Keys[0])
	if err == nil || !strings.Contains(err.Error(), "unseal -all is refused without cluster mutual TLS") {
		t.Fatalf("unseal -all on an -insecure cluster: %v, want a refusal that says why", err)
	}
	if s, err := status(t, p.api); err != nil || !s.Sealed || s.Progress != 0 {
		t.Fatalf("after the refused unseal -all: %+v %v (want sealed, no progress)", s, err)
	}
	if err := operator(t, p.api, nil, "unseal", creds.Keys[0]); err != nil {
		t.Fatal(err)
	}
	if s, err := status(t, p.api); err != nil || s.Sealed {
		t.Fatalf("after unseal: %+v %v", s, err)
	}
}

// assertNoRaftState checks, once p has stopped, that it never received a
// log entry or a snapshot.
func assertNoRaftState(t *testing.T, p *proc) {
	t.Helper()
	store, err := raftboltdb.NewBoltStore(filepath.Join(p.dataDir, "raft.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	if last, err := store.LastIndex(); err != nil || last != 0 {
		t.Fatalf("%s's raft log holds entries up to %d (%v): it was given the log", p.id, last, err)
	}
	snaps, _ := filepath.Glob(filepath.Join(p.dataDir, "snapshots", "*", "meta.json"))
	if len(snaps) != 0 {
		t.Fatalf("%s holds snapshots: %v", p.id, snaps)
	}
}

// serves checks that the cluster still commits writes through api.
func serves(t *testing.T, api string, creds initOutput) {
	t.Helper()
	c := kmsClient(api, creds, 5)
	k, err := c.CreateKey(ctxTimeout(t, 20*time.Second), &kms.CreateKeyInput{Description: aws.String("still serving")})
	if err != nil {
		t.Fatalf("CreateKey: %v", err)
	}
	if _, err := c.Encrypt(ctxTimeout(t, 20*time.Second), &kms.EncryptInput{KeyId: k.KeyMetadata.KeyId, Plaintext: []byte("x")}); err != nil {
		t.Fatalf("Encrypt: %v", err)
	}
}

// awaitClaim waits until the leader's gossip shows the dead victim's id
// alive again, as thief (memberlist lets a new address take a dead name
// 5 s after its death, or once it has forgotten it, after 30 s), and the
// leader has either refused it or changed the victim's address; it fails
// in the second case.
func awaitClaim(t *testing.T, leader, victim, thief *proc) {
	t.Helper()
	waitFor(t, 90*time.Second, "gossip to give "+victim.id+"'s name to the second process", func() (bool, error) {
		peers, err := listPeers(t, leader.api)
		for _, p := range peers {
			if p.ID == victim.id {
				return p.Alive, err
			}
		}
		return false, err
	})
	waitFor(t, 30*time.Second, "the leader to refuse or add the second "+victim.id, func() (bool, error) {
		if addr := peerAddress(t, leader.api, victim.id); addr != victim.raft {
			return true, nil
		}
		return logHas([]*proc{leader}, "its node id belongs to another server", "node_id="+victim.id)
	})
	if addr := peerAddress(t, leader.api, victim.id); addr != victim.raft {
		t.Fatalf("the second %s was made the voter at %s (its raft address %s); the killed voter's was %s", victim.id, addr, thief.raft, victim.raft)
	}
	t.Logf("the leader refused the second %s", victim.id)
}

// TestNodeIDTheft (plaintext, -insecure): a fourth process started with a
// voter's node id, while the voter runs and again once it is killed, is
// never added nor given the log, and the cluster keeps serving; once
// remove-peer frees the id, a new server may take it.
func TestNodeIDTheft(t *testing.T) {
	c := startCluster(t)
	// Who leads is for principals to see: init waits for a leader itself.
	c.init("-key-shares", "3", "-key-threshold", "2")
	c.unsealEach()
	leader := c.waitLeader(15*time.Second, "")
	victim := c.follower(leader)
	seeds := c.seeds()

	// The voter runs: gossip keeps it and reports the conflict.
	twin := newProc(t, victim.id, 3)
	twin.start(seeds)
	waitFor(t, 30*time.Second, "gossip to see the conflicting "+victim.id, func() (bool, error) {
		return logHas(c.nodes, "Conflicting address for "+victim.id)
	})
	serves(t, leader.api, c.creds)
	if addr := peerAddress(t, leader.api, victim.id); addr != victim.raft {
		t.Fatalf("%s is at %q in the configuration, want %s", victim.id, addr, victim.raft)
	}
	twin.kill()
	assertNoRaftState(t, twin)

	// The voter is down: gossip lets a new process reclaim its name, and
	// the leader refuses it for its identity.
	victim.kill()
	waitGossipDead(t, leader.api, victim.id)
	thief := newProc(t, victim.id, 3)
	thief.start(seeds)
	t.Logf("%s killed and declared dead; a second %s started", victim.id, victim.id)
	awaitClaim(t, leader, victim, thief)
	serves(t, leader.api, c.creds)
	if addr := peerAddress(t, leader.api, victim.id); addr != victim.raft {
		t.Fatalf("%s is at %q in the configuration, want the killed voter's %s", victim.id, addr, victim.raft)
	}
	if st, err := status(t, thief.api); err != nil || st.Initialized || st.RaftIndex != 0 {
		t.Fatalf("the second %s received cluster state: %+v %v", victim.id, st, err)
	}
	thief.kill()
	assertNoRaftState(t, thief)

	// Only remove-peer frees the id.
	if err := operator(t, leader.api, nil, "raft", "remove-peer", victim.id); err != nil {
		t.Fatal(err)
	}
	heir := newProc(t, victim.id, 3)
	heir.start(seeds)
	waitFor(t, 60*time.Second, "a new "+victim.id+" to be added once the id is free", func() (bool, error) {
		return peerAddress(t, leader.api, victim.id) == heir.raft, nil
	})
}

// TestRoguesNeverJoinATLSCluster: with mutual TLS and a gossip key, a
// plaintext process at the gossip port never joins, and a process holding a
// voter's own certificate (stolen) and the gossip key but not its data dir
// is never added once the voter is down, never given the log, and never
// sent an unseal share.
func TestRoguesNeverJoinATLSCluster(t *testing.T) {
	ca := tlsGen(t, "n1", "n2", "n3")
	gk := gossipKeygen(t)
	c := startClusterWith(t, func(p *proc) { p.secure(ca, gk) })
	c.init("-key-shares", "3", "-key-threshold", "2")
	leader := c.nodes[0] // any node: unseal -all reaches the others from it
	c.waitInitialized(20 * time.Second)
	for _, k := range c.creds.Keys[:c.creds.Threshold] {
		if out := unsealAll(t, leader.api, k); len(out) != 3 {
			t.Fatalf("unseal -all reached %v", out)
		}
	}
	leader = c.waitLeader(15*time.Second, "")
	victim := c.follower(leader)

	plain := newProc(t, "n9", 3) // -insecure, no gossip key
	plain.start([]string{leader.gossip})
	victim.kill()
	waitGossipDead(t, leader.api, victim.id)
	thief := newProc(t, victim.id, 3)
	thief.secure(ca, gk) // the victim's own certificate and key
	thief.start([]string{leader.gossip})
	awaitClaim(t, leader, victim, thief)

	// Seal the leader and unseal it again with unseal -all: the thief is
	// named but sent no share, and n9 is not even seen.
	if err := operator(t, leader.api, nil, "seal"); err != nil {
		t.Fatal(err)
	}
	leader = c.waitLeader(20*time.Second, victim.id)
	for _, k := range c.creds.Keys[:c.creds.Threshold] {
		out := unsealAll(t, leader.api, k)
		if _, ok := out["n9"]; ok {
			t.Fatalf("unseal -all reached the plaintext n9: %v", out)
		}
		if errText := out[victim.id]; !strings.Contains(errText, "no share sent") {
			t.Fatalf("unseal -all and the second %s: %q, want no share sent", victim.id, errText)
		}
	}
	serves(t, leader.api, c.creds)
	if addr := peerAddress(t, leader.api, victim.id); addr != victim.raft {
		t.Fatalf("%s is at %q in the configuration, want %s", victim.id, addr, victim.raft)
	}
	if addr := peerAddress(t, leader.api, "n9"); addr != "" {
		t.Fatalf("n9 is in the raft configuration at %s", addr)
	}
	for _, p := range []*proc{thief, plain} {
		st, err := status(t, p.api)
		if err != nil || st.Initialized || st.RaftIndex != 0 || st.Progress != 0 {
			t.Fatalf("%s received cluster state: %+v %v", p.id, st, err)
		}
		p.kill()
		assertNoRaftState(t, p)
	}
}

// TestRoguesAtADownVotersRaftAddress: a process holding a voter's stolen
// certificate and key and the gossip key, but not its data dir, that takes
// over the down voter's raft address is dialed by the leader's raft
// transport, which keeps replicating to that address; it must prove the
// identity bound to the id on the connection, cannot, and is never sent a
// log entry. The real voter, restarted from its data dir, catches up.
func TestRoguesAtADownVotersRaftAddress(t *testing.T) {
	ca := tlsGen(t, "n1", "n2", "n3")
	gk := gossipKeygen(t)
	c := startClusterWith(t, func(p *proc) { p.secure(ca, gk) })
	c.init("-key-shares", "3", "-key-threshold", "2")
	c.unsealEach()
	leader := c.waitLeader(15*time.Second, "")
	victim := c.follower(leader)
	serves(t, leader.api, c.creds) // a few entries more to replicate
	victim.kill()

	thief := newProc(t, victim.id, 3)
	for i, a := range thief.args {
		if a == thief.raft {
			thief.args[i] = victim.raft
		}
	}
	thief.raft = victim.raft
	thief.secure(ca, gk) // the victim's own certificate and key
	thief.start([]string{leader.gossip})
	waitFor(t, 60*time.Second, "the leader to refuse the raft connection to the second "+victim.id, func() (bool, error) {
		if st, err := status(t, thief.api); err == nil && st.Initialized {
			t.Fatalf("the second %s at %s was given the log: %+v", victim.id, victim.raft, st)
		}
		return logHas([]*proc{leader}, "identity proof failed", victim.raft)
	})
	serves(t, leader.api, c.creds)
	if st, err := status(t, thief.api); err != nil || st.Initialized {
		t.Fatalf("the second %s received cluster state: %+v %v", victim.id, st, err)
	}
	thief.kill()
	assertNoRaftState(t, thief)
	segs, _ := filepath.Glob(filepath.Join(thief.dataDir, "audit", "*.seg"))
	for _, s := range segs {
		if fi, err := os.Stat(s); err != nil || fi.Size() > 8 {
			t.Fatalf("the second %s holds audit events in %s", victim.id, s)
		}
	}

	// The real voter restarts from its data dir, proves its identity, and
	// catches up.
	victim.start([]string{leader.gossip})
	c.unseal(victim)
	serves(t, leader.api, c.creds)
	want, err := status(t, leader.api)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, victim.id+" to catch up", func() (bool, error) {
		st, err := status(t, victim.api)
		return err == nil && st.RaftIndex >= want.RaftIndex, err
	})
}
