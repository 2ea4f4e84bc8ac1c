package cluster

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"
)

func TestKnownPeersRoundTrip(t *testing.T) {
	dir := t.TempDir()
	n := &Node{cfg: Config{}, log: hclog.NewNullLogger()}
	n.cfg.DataDir, n.cfg.NodeID = dir, "n1"
	if got := n.loadKnownPeers(); len(got) != 0 {
		t.Fatalf("no file: %v", got)
	}
	want := map[string]string{"n2": "10.0.0.2:8301", "n3": "[fd00::3]:8301"}
	if err := n.storeKnownPeers(want); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(dir, knownPeersFile))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v, want 0600", fi.Mode().Perm())
	}
	got := n.loadKnownPeers()
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("read back %v, want %v", got, want)
	}
	if _, err := os.Stat(filepath.Join(dir, knownPeersFile+".tmp")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("temporary file left behind: %v", err)
	}
}

func TestParseKnownPeersDropsWhatCannotBeJoined(t *testing.T) {
	got, err := parseKnownPeers([]byte(`{"peers":{"n1":"127.0.0.1:1","n2":"no-port","n3":"h:x","":"127.0.0.1:2","n4":"127.0.0.1:4"}}`), "n1")
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != "map[n4:127.0.0.1:4]" {
		t.Fatalf("got %v: want only n4 (self, bad addresses and the empty id dropped)", got)
	}
	if _, err := parseKnownPeers([]byte(`{"peers":[1]}`), "n1"); err == nil {
		t.Fatal("a malformed file parsed")
	}
	many := `{"peers":{`
	for i := range maxKnownPeers + 10 {
		if i > 0 {
			many += ","
		}
		many += fmt.Sprintf(`"n%d":"127.0.0.1:%d"`, i, i+1)
	}
	got, err = parseKnownPeers([]byte(many+`}}`), "x")
	if err != nil || len(got) != maxKnownPeers {
		t.Fatalf("%d peers (%v), want at most %d", len(got), err, maxKnownPeers)
	}
}

func FuzzParseKnownPeers(f *testing.F) {
	f.Add([]byte(`{"peers":{"n2":"127.0.0.1:8301"}}`))
	f.Add([]byte(`{"peers":{}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := parseKnownPeers(b, "self")
		if err != nil {
			return
		}
		if len(got) > maxKnownPeers {
			t.Fatalf("%d peers", len(got))
		}
		for id, addr := range got {
			if id == "self" || id == "" {
				t.Fatalf("kept id %q", id)
			}
			if _, _, err := net.SplitHostPort(addr); err != nil {
				t.Fatalf("kept address %q: %v", addr, err)
			}
		}
	})
}

func TestJoinSeedsLeavesOutItself(t *testing.T) {
	n := &Node{cfg: Config{GossipAdvertise: "10.0.0.1:8301"}}
	n.cfg.GossipAddr, n.cfg.Join = "0.0.0.0:8301", []string{"10.0.0.1:8301", "10.0.0.2:8301"}
	got := n.joinSeeds(map[string]string{"n3": "10.0.0.3:8301", "n2": "10.0.0.2:8301"})
	if fmt.Sprint(got) != "[10.0.0.2:8301 10.0.0.3:8301]" {
		t.Fatalf("seeds %v", got)
	}
}

func TestIsDialError(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	_, derr := net.Dial("tcp", addr)
	if derr == nil || !isDialError(fmt.Errorf("raft dial %s: %w", addr, derr)) {
		t.Fatalf("a refused connection (%v) is not a dial error", derr)
	}
	if isDialError(errors.New("remote error: tls: bad certificate")) || isDialError(&net.OpError{Op: "read", Err: errors.New("reset")}) {
		t.Fatal("a failure on a made connection counted as a dial error")
	}
}

// TestDamagedKnownPeersFileIsIgnoredAndRewritten (F6): a torn, garbled or
// oversized peers file is an empty list, a warning, and a file written
// anew that the next start reads without one; a file that cannot be
// rewritten (a directory in its place) is still only a warning.
func TestDamagedKnownPeersFileIsIgnoredAndRewritten(t *testing.T) {
	for name, content := range map[string][]byte{
		"torn":     []byte(`{"peers":{"n2":"10.0.0.2:83`),
		"garbage":  {0x00, 0xff, 0x7b, 0x13},
		"empty":    {},
		"oversize": append([]byte(`{"peers":{"n2":"10.0.0.2:8301"},"pad":"`), append(bytes.Repeat([]byte("x"), maxKnownPeersFile), `"}`...)...),
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			var logs bytes.Buffer
			n := &Node{log: hclog.New(&hclog.LoggerOptions{Output: &logs})}
			n.cfg.DataDir, n.cfg.NodeID = dir, "n1"
			file := filepath.Join(dir, knownPeersFile)
			if err := os.WriteFile(file, content, 0o600); err != nil {
				t.Fatal(err)
			}
			if got := n.loadKnownPeers(); len(got) != 0 {
				t.Fatalf("a damaged file gave peers %v", got)
			}
			if !strings.Contains(logs.String(), "[WARN]") || !strings.Contains(logs.String(), "damaged") {
				t.Fatalf("no warning logged: %q", logs.String())
			}
			b, err := os.ReadFile(file)
			if err != nil || string(b) != `{"peers":{}}` {
				t.Fatalf("file not rewritten: %q, %v", b, err)
			}
			logs.Reset()
			if got := n.loadKnownPeers(); len(got) != 0 || logs.Len() != 0 {
				t.Fatalf("the rewritten file: peers %v, logs %q", got, logs.String())
			}
		})
	}
	t.Run("directory", func(t *testing.T) {
		dir := t.TempDir()
		var logs bytes.Buffer
		n := &Node{log: hclog.New(&hclog.LoggerOptions{Output: &logs})}
		n.cfg.DataDir, n.cfg.NodeID = dir, "n1"
		if err := os.Mkdir(filepath.Join(dir, knownPeersFile), 0o700); err != nil {
			t.Fatal(err)
		}
		if got := n.loadKnownPeers(); len(got) != 0 || !strings.Contains(logs.String(), "could not rewrite") {
			t.Fatalf("peers %v, logs %q", got, logs.String())
		}
	})
}
