package control

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestLocalCluster starts a real three-node cluster on loopback; it takes
// ~30 s and builds keyraft, so it runs only with JEPSEN_INTEGRATION=1.
func TestLocalCluster(t *testing.T) {
	if os.Getenv("JEPSEN_INTEGRATION") == "" {
		t.Skip("set JEPSEN_INTEGRATION=1 to start a real cluster")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	dir := t.TempDir()
	// Nodes may run under their own uids: they must reach the binary.
	for d := dir; d != "/"; d = filepath.Dir(d) {
		if st, err := os.Stat(d); err == nil && st.Mode().Perm()&0o001 == 0 {
			_ = os.Chmod(d, st.Mode().Perm()|0o055)
		}
	}
	src := source(ctx, t, dir)
	c, err := NewLocal(ctx, Config{Src: src, Dir: dir, Nodes: 3, TLS: true, Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Teardown(ctx)
	exercise(ctx, t, c)
}

// TestDockerCluster is TestLocalCluster on docker-compose.
func TestDockerCluster(t *testing.T) {
	if os.Getenv("JEPSEN_INTEGRATION") == "" {
		t.Skip("set JEPSEN_INTEGRATION=1 to start a real cluster")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	dir := t.TempDir()
	c, err := NewDocker(ctx, Config{Src: source(ctx, t, dir), Dir: dir, Nodes: 3, TLS: true, Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Teardown(ctx)
	exercise(ctx, t, c)
}

// source extracts the checkout's HEAD (the working tree may be mid-edit).
func source(ctx context.Context, t *testing.T, dir string) string {
	abs, _ := filepath.Abs("../..")
	src, commit, err := Source(ctx, Config{Src: abs, Rev: "HEAD", Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("building commit %s", commit)
	return src
}

// exercise initialises the cluster, kills and restarts the leader, and
// isolates the (new) leader, waiting for the cluster to recover each time.
func exercise(ctx context.Context, t *testing.T, c Cluster) {
	creds, err := Initialize(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	if err := WaitHealthy(ctx, c, creds); err != nil {
		t.Fatal(err)
	}
	leader := Leader(ctx, c, creds)
	t.Logf("leader %s", leader)

	if err := c.Kill(ctx, leader); err != nil {
		t.Fatal(err)
	}
	waitCtx, wc := context.WithTimeout(ctx, 30*time.Second)
	defer wc()
	if err := waitFor(waitCtx, "a new leader", func() bool { l := Leader(ctx, c, creds); return l != "" && l != leader }); err != nil {
		t.Fatal(err)
	}
	if err := c.Restart(ctx, leader); err != nil {
		t.Fatal(err)
	}
	if err := Unseal(ctx, c, creds, leader); err != nil {
		t.Fatal(err)
	}
	if err := WaitHealthy(ctx, c, creds); err != nil {
		t.Fatal(err)
	}

	if err := c.CanPartition(); err != nil {
		t.Logf("partitions not tested: %v", err)
	} else {
		// Isolate the leader: the other two elect another.
		leader = Leader(ctx, c, creds)
		var links [][2]string
		for _, n := range c.Nodes() {
			if n != leader {
				links = append(links, [2]string{leader, n})
			}
		}
		if err := c.Cut(ctx, links); err != nil {
			t.Fatal(err)
		}
		err := waitFor(waitCtx, "a leader on the majority side", func() bool {
			for _, n := range c.Nodes() {
				if n == leader {
					continue
				}
				st, err := NodeStatus(ctx, c, creds, n)
				if err == nil && st.RaftState == "Leader" {
					return true
				}
			}
			return false
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Heal(ctx); err != nil {
			t.Fatal(err)
		}
		if err := WaitHealthy(ctx, c, creds); err != nil {
			t.Fatal(err)
		}
	}
}
