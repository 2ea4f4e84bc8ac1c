package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/kms"
)

// snapshotFlags make Raft snapshot and compact its log within a test's
// load: a snapshot every 32 entries, checked every 200 ms, 8 entries kept.
var snapshotFlags = []string{"-raft-snapshot-threshold", "32", "-raft-trailing-logs", "8", "-raft-snapshot-interval", "200ms"}

// statGlob stats the files that match pattern; files gone meanwhile
// (a snapshot reaped) are left out.
func statGlob(t *testing.T, pattern string) map[string]*syscall.Stat_t {
	t.Helper()
	paths, err := filepath.Glob(pattern)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*syscall.Stat_t{}
	for _, path := range paths {
		if fi, err := os.Stat(path); err == nil {
			out[path] = fi.Sys().(*syscall.Stat_t)
		}
	}
	return out
}

// snapshotParts lists the part files of p's snapshots (the audit segments
// they reference) with their link counts.
func snapshotParts(t *testing.T, p *proc) map[string]uint64 {
	out := map[string]uint64{}
	for path, st := range statGlob(t, filepath.Join(p.dataDir, "snapshots", "*", "part-*")) {
		out[path] = uint64(st.Nlink)
	}
	return out
}

// segmentInodes maps p's audit segment files to their inode numbers.
func segmentInodes(t *testing.T, p *proc) map[string]uint64 {
	out := map[string]uint64{}
	for path, st := range statGlob(t, filepath.Join(p.dataDir, "audit", "*.seg")) {
		out[filepath.Base(path)] = st.Ino
	}
	return out
}

// chainOf is a node's whole audit log as sequence number → hash.
func chainOf(api string) (map[float64]string, error) {
	evs, err := tryAuditEvents(api, "")
	if err != nil {
		return nil, err
	}
	out := map[float64]string{}
	for _, ev := range evs {
		out[ev["keyraftSequence"].(float64)] = fmt.Sprint(ev["keyraftHash"])
	}
	return out, nil
}

// sameChain waits until p serves exactly the leader's log.
func sameChain(t *testing.T, leader, p *proc) {
	t.Helper()
	waitFor(t, 30*time.Second, p.id+" to serve the leader's audit log", func() (bool, error) {
		want, err := chainOf(leader.api)
		if err != nil {
			return false, err
		}
		got, err := chainOf(p.api)
		if err != nil {
			return false, err
		}
		if len(got) != len(want) {
			return false, fmt.Errorf("%d events on %s, %d on the leader", len(got), p.id, len(want))
		}
		for seq, h := range want {
			if got[seq] != h {
				return false, fmt.Errorf("event %v differs", seq)
			}
		}
		return true, nil
	})
	if out, err := auditCLI(p.api, "verify").CombinedOutput(); err != nil {
		t.Fatalf("audit verify on %s: %v %s", p.id, err, out)
	}
}

// load runs Encrypts from 8 clients spread over the nodes until stop closes.
func load(t *testing.T, c *cluster, keyID string, stop <-chan struct{}) *sync.WaitGroup {
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cl := kmsClient(c.nodes[i%len(c.nodes)].api, c.creds, 3)
			for {
				select {
				case <-stop:
					return
				default:
				}
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				_, _ = cl.Encrypt(ctx, &kms.EncryptInput{KeyId: &keyID, Plaintext: []byte("load")})
				cancel()
			}
		}()
	}
	return &wg
}

// TestSnapshotsCarryTheAuditLog runs the snapshot paths on a real cluster
// under load: snapshots reference the audit segments by hard link instead
// of copying them; a restarted follower restores its newest snapshot and
// keeps its segment files (no rewrite) and each event once; a follower
// that fell behind the compacted log gets a snapshot install and appends
// to the files it has; and a new node that joins after the log was
// compacted gets the whole log by snapshot install.
// Each ends serving the leader's chain, and verifies.
func TestSnapshotsCarryTheAuditLog(t *testing.T) {
	c := startUnsealedCluster(t, snapshotFlags...)
	leader := c.waitLeader(10*time.Second, "")
	key, err := kmsClient(leader.api, c.creds, 3).CreateKey(ctx10(t), &kms.CreateKeyInput{})
	if err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	wg := load(t, c, *key.KeyMetadata.KeyId, stop)
	waitFor(t, 60*time.Second, "every node to hold a snapshot that links its audit segments", func() (bool, error) {
		for _, p := range c.nodes {
			parts := snapshotParts(t, p)
			linked := 0
			for _, n := range parts {
				if n >= 2 {
					linked++
				}
			}
			if linked == 0 {
				return false, fmt.Errorf("%s: snapshot parts %v", p.id, parts)
			}
		}
		return true, nil
	})
	close(stop)
	wg.Wait()

	// A follower that has everything restarts: Raft restores its newest
	// snapshot into the FSM and replays its log after it; the store, which
	// holds the snapshot's head, is kept as it is and skips the replay.
	// (The load pauses so that the leader's compacted log still holds what
	// the follower lacks: with 8 trailing entries, a follower a little
	// behind gets a snapshot install instead, which rewrites its store.)
	f := c.follower(leader)
	waitFor(t, 10*time.Second, f.id+" to have the leader's last entry", func() (bool, error) {
		ls, err := status(t, leader.api)
		if err != nil {
			return false, err
		}
		fs, err := status(t, f.api)
		return err == nil && fs.RaftIndex == ls.RaftIndex, err
	})
	restores := logCount(t, f, "restored from snapshot")
	f.kill()
	before := segmentInodes(t, f)
	f.start([]string{leader.gossip})
	c.unseal(f)
	waitFor(t, 30*time.Second, f.id+" to restore its snapshot", func() (bool, error) {
		return logCount(t, f, "restored from snapshot") > restores, nil
	})
	after := segmentInodes(t, f)
	for name, ino := range before {
		if after[name] != ino {
			t.Fatalf("%s: segment %s was rewritten by the restore (inode %d, now %d)", f.id, name, ino, after[name])
		}
	}
	sameChain(t, leader, f)

	// A new node joins once the log no longer holds the cluster's start.
	n4 := newProc(t, "n4", 3)
	c.adopt(n4)
	n4.args = append(n4.args, snapshotFlags...)
	stop = make(chan struct{})
	wg = load(t, c, *key.KeyMetadata.KeyId, stop)
	defer func() {
		select {
		case <-stop:
		default:
			close(stop)
			wg.Wait()
		}
	}()
	// A follower that falls further behind than the leader's log reaches
	// gets a snapshot install; its store holds a prefix of the snapshot's
	// chain and takes only what follows (same files, appended to).
	g := c.follower(leader)
	installs := logCount(t, g, "Installed remote snapshot")
	last, err := status(t, g.api)
	if err != nil {
		t.Fatal(err)
	}
	g.kill()
	before = segmentInodes(t, g)
	waitFor(t, 30*time.Second, "the leader's log to move on by 200 entries", func() (bool, error) {
		ls, err := status(t, leader.api)
		return err == nil && ls.RaftIndex > last.RaftIndex+200, err
	})
	g.start([]string{leader.gossip})
	waitFor(t, 30*time.Second, g.id+" to install a snapshot", func() (bool, error) {
		return logCount(t, g, "Installed remote snapshot") > installs, nil
	})
	after = segmentInodes(t, g)
	for name, ino := range before {
		if after[name] != ino {
			t.Fatalf("%s: segment %s was rewritten by the install (inode %d, now %d)", g.id, name, ino, after[name])
		}
	}
	c.unseal(g)

	n4.start([]string{leader.gossip})
	waitFor(t, 30*time.Second, "n4 to install a snapshot", func() (bool, error) {
		return logCount(t, n4, "Installed remote snapshot") > 0, nil
	})
	c.nodes = append(c.nodes, n4)
	c.unseal(n4)

	close(stop)
	wg.Wait()
	leader = c.waitLeader(10*time.Second, "")
	for _, p := range c.nodes {
		if p != leader {
			sameChain(t, leader, p)
		}
	}
	if out, err := auditCLI(leader.api, "verify").CombinedOutput(); err != nil {
		t.Fatalf("audit verify on the leader: %v %s", err, out)
	}
}
