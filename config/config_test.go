package config

import (
	"encoding/base64"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// required are the flags every non-dev node needs.
var required = []string{"-node-id", "n1", "-data-dir", "/var/lib/keyraft"}

// loadArgs is Load with the flag package's own complaints discarded.
func loadArgs(t *testing.T, args ...string) (Node, error) {
	t.Helper()
	return load(args, io.Discard)
}

// writeFile writes a config file into a fresh temp dir and returns its path.
func writeFile(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "keyraft.json")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestDefaults(t *testing.T) {
	n, err := loadArgs(t, required...)
	if err != nil {
		t.Fatal(err)
	}
	want := Default()
	want.NodeID, want.DataDir = "n1", "/var/lib/keyraft"
	if !reflect.DeepEqual(n, want) {
		t.Fatalf("no flags but the required ones:\n got %+v\nwant %+v", n, want)
	}
	// The values the docs (README, docs/) and the flags' usage promise.
	for name, got := range map[string]any{
		"api-addr": n.APIAddr, "cluster-addr": n.ClusterAddr, "raft-addr": n.RaftAddr, "gossip-addr": n.GossipAddr,
		"region": n.Region, "account-id": n.Account, "log-level": n.LogLevel, "log-format": n.LogFormat,
		"raft-snapshot-threshold": n.SnapshotThreshold, "raft-trailing-logs": n.TrailingLogs, "raft-snapshot-interval": n.SnapshotInterval,
		"min-free-disk": n.MinFreeDisk, "max-connections": n.MaxConnections, "max-connections-per-ip": n.MaxConnectionsPerIP,
		"http-read-header-timeout": n.HTTPReadHeaderTimeout, "http-read-timeout": n.HTTPReadTimeout,
		"http-write-timeout": n.HTTPWriteTimeout, "http-idle-timeout": n.HTTPIdleTimeout,
		"heartbeat": n.HeartbeatTimeout, "election": n.ElectionTimeout,
	} {
		want := map[string]any{
			"api-addr": "127.0.0.1:8200", "cluster-addr": "0.0.0.0:8201", "raft-addr": "0.0.0.0:8202", "gossip-addr": "0.0.0.0:8203",
			"region": "us-east-1", "account-id": "111122223333", "log-level": "info", "log-format": "standard",
			"raft-snapshot-threshold": uint64(8192), "raft-trailing-logs": uint64(10240), "raft-snapshot-interval": 2 * time.Minute,
			"min-free-disk": uint64(256 << 20), "max-connections": 4096, "max-connections-per-ip": 256,
			"http-read-header-timeout": 10 * time.Second, "http-read-timeout": 30 * time.Second,
			"http-write-timeout": 60 * time.Second, "http-idle-timeout": 2 * time.Minute,
			"heartbeat": time.Second, "election": time.Second,
		}[name]
		if got != want {
			t.Errorf("%s: default %v, want %v", name, got, want)
		}
	}
	// Off unless asked for: a zero here is a choice, not a missing default.
	if n.Insecure || n.Dev || n.AuditRetainEvents != 0 || n.AuditRetainAge != 0 || n.AuditRetainMiB != 0 ||
		n.AuditReturnWait != 0 || n.GossipKey != nil || n.Join != nil || n.BootstrapExpect != 0 || n.PprofAddr != "" {
		t.Fatalf("a setting that is off by default is on: %+v", n)
	}
}

// TestFlagUsageShowsDefaults: the usage a user reads shows Default's values.
func TestFlagUsageShowsDefaults(t *testing.T) {
	n := Default()
	fs := flag.NewFlagSet("server", flag.ContinueOnError)
	newFlags(fs, &n)
	for name, want := range map[string]string{
		"api-addr": "127.0.0.1:8200", "log-format": "standard", "region": "us-east-1", "account-id": "111122223333",
		"raft-snapshot-threshold": "8192", "raft-trailing-logs": "10240", "raft-snapshot-interval": "2m0s",
		"min-free-disk": "268435456", "max-connections": "4096", "http-idle-timeout": "2m0s", "log-level": "info",
	} {
		if got := fs.Lookup(name).DefValue; got != want {
			t.Errorf("-%s shows default %q, want %q", name, got, want)
		}
	}
}

// TestFileAndFlags: the file fills what the command line leaves out; the
// command line wins where both speak.
func TestFileAndFlags(t *testing.T) {
	file := writeFile(t, `{
		"node-id": "from-file", "data-dir": "/data", "region": "eu-west-1",
		"max-connections": 10, "min-free-disk": "1GiB", "join": "a:8203, b:8203,",
		"insecure": true, "audit-retain-age": "2160h", "raft-snapshot-threshold": 100
	}`)
	n, err := loadArgs(t, "-config", file, "-region", "ap-south-1", "-node-id", "n7")
	if err != nil {
		t.Fatal(err)
	}
	if n.NodeID != "n7" || n.Region != "ap-south-1" {
		t.Errorf("the command line lost to the file: node id %q, region %q", n.NodeID, n.Region)
	}
	if n.DataDir != "/data" || n.MaxConnections != 10 || n.MinFreeDisk != 1<<30 || !n.Insecure ||
		n.AuditRetainAge != 2160*time.Hour || n.SnapshotThreshold != 100 {
		t.Errorf("the file's values were not taken: %+v", n)
	}
	if !reflect.DeepEqual(n.Join, []string{"a:8203", "b:8203"}) {
		t.Errorf("join %q", n.Join)
	}
	if n.Account != Default().Account {
		t.Errorf("a setting neither gave is %q, not its default", n.Account)
	}
	// Numbers reach their flag as written: a float64 on the way would
	// make 1000000 "1e+06", which an integer flag refuses.
	n2, err := loadArgs(t, append([]string{"-config", writeFile(t, `{"audit-retain-events": 1000000, "min-free-disk": 268435456, "raft-trailing-logs": 20000000}`)}, required...)...)
	if err != nil || n2.AuditRetainEvents != 1000000 || n2.MinFreeDisk != 268435456 || n2.TrailingLogs != 20000000 {
		t.Fatalf("large numbers in the file: %v %+v", err, n2)
	}
	// The flag order does not matter: -config before or after the others.
	m, err := loadArgs(t, "-region", "ap-south-1", "-node-id", "n7", "-config", file)
	if err != nil || !reflect.DeepEqual(m, n) {
		t.Fatalf("-config last: %v\n got %+v\nwant %+v", err, m, n)
	}
}

func TestGossipKey(t *testing.T) {
	key := base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef"))
	n, err := loadArgs(t, append([]string{"-gossip-key", key}, required...)...)
	if err != nil || string(n.GossipKey) != "0123456789abcdef0123456789abcdef" {
		t.Fatalf("-gossip-key: %q, %v", n.GossipKey, err)
	}
	keyFile := filepath.Join(t.TempDir(), "gossip.key")
	if err := os.WriteFile(keyFile, []byte(key+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	n, err = loadArgs(t, "-config", writeFile(t, `{"gossip-key-file": "`+keyFile+`"}`), "-node-id", "n1", "-data-dir", "/d")
	if err != nil || string(n.GossipKey) != "0123456789abcdef0123456789abcdef" {
		t.Fatalf("gossip-key-file from the config file: %q, %v", n.GossipKey, err)
	}
}

// TestRefusals: each bad configuration is refused, saying what is wrong.
func TestRefusals(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"an unknown key", []string{"-config", writeFile(t, `{"regoin": "eu-west-1"}`)}, `unknown setting "regoin"`},
		{"a test knob in the file", []string{"-config", writeFile(t, `{"test-day-length": "1s"}`)}, "test-only setting"},
		{"a file that is not JSON", []string{"-config", writeFile(t, `region = "eu-west-1"`)}, "invalid character"},
		{"a missing file", []string{"-config", "/nonexistent/keyraft.json"}, "no such file"},
		{"a bad value in the file", []string{"-config", writeFile(t, `{"max-connections": "many"}`)}, "max-connections"},
		{"a bad size in the file", []string{"-config", writeFile(t, `{"min-free-disk": "lots"}`)}, "min-free-disk"},
		{"a negative return wait", []string{"-audit-batch-return-wait", "-1ms"}, "want 0 to 100ms"},
		{"a return wait above a round", []string{"-audit-batch-return-wait", "101ms"}, "want 0 to 100ms"},
		{"pprof on every interface", []string{"-pprof-addr", "0.0.0.0:6060"}, "not a loopback address"},
		{"pprof with no host", []string{"-pprof-addr", ":6060"}, "listens on every interface"},
		{"a gossip key not in base64", []string{"-gossip-key", "not base64!"}, "not base64"},
		{"a gossip key of 10 bytes", []string{"-gossip-key", base64.StdEncoding.EncodeToString(make([]byte, 10))}, "10 bytes"},
		{"a gossip key given empty", []string{"-gossip-key", ""}, "gossip key"},
		{"both gossip key flags", []string{"-gossip-key", "a", "-gossip-key-file", "b"}, "not both"},
		{"an API certificate without its key", []string{"-tls-cert-file", "c.pem"}, "both a certificate and a key"},
		{"two of the three cluster files", []string{"-cluster-ca-file", "ca.pem", "-cluster-cert-file", "c.pem"}, "all three"},
		{"a dead-server cleanup of 1ns", []string{"-autopilot-dead-server-cleanup", "1ns"}, "-autopilot-dead-server-cleanup 1ns: want 0 (never remove a server) or at least"},
		{"a dead-server cleanup under a second", []string{"-autopilot-dead-server-cleanup", "999ms"}, "want 0 (never remove a server) or at least"},
		{"a negative dead-server cleanup", []string{"-autopilot-dead-server-cleanup", "-5s"}, "-autopilot-dead-server-cleanup -5s: want 0"},
		{"a min quorum of 2", []string{"-autopilot-min-quorum", "2"}, "-autopilot-min-quorum 2: want at least 3"},
		{"a min quorum of 0", []string{"-autopilot-min-quorum", "0"}, "-autopilot-min-quorum 0: want at least 3"},
		{"a zero last-contact threshold", []string{"-autopilot-last-contact-threshold", "0s"}, "-autopilot-last-contact-threshold 0s: want a duration above zero"},
		{"a negative last-contact threshold", []string{"-autopilot-last-contact-threshold", "-1s"}, "want a duration above zero"},
		{"a zero stabilization time", []string{"-autopilot-server-stabilization-time", "0s"}, "-autopilot-server-stabilization-time 0s: want a duration above zero"},
		{"a negative stabilization time", []string{"-autopilot-server-stabilization-time", "-2s"}, "want a duration above zero"},
		{"zero max trailing logs", []string{"-autopilot-max-trailing-logs", "0"}, "-autopilot-max-trailing-logs 0: want at least 1"},
		{"a min quorum of 1 in the file", []string{"-config", writeFile(t, `{"autopilot-min-quorum": 1}`)}, "-autopilot-min-quorum 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := loadArgs(t, append(append([]string{}, required...), tc.args...)...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error saying %q", err, tc.want)
			}
			if errors.Is(err, ErrUsage) {
				t.Fatalf("%v is a setting's refusal, not a usage error", err)
			}
		})
	}
	for _, args := range [][]string{{"-data-dir", "/d"}, {"-node-id", "n1"}} {
		if _, err := loadArgs(t, args...); err == nil || !strings.Contains(err.Error(), "-node-id and -data-dir are required") {
			t.Errorf("%q: %v", args, err)
		}
	}
	for _, args := range [][]string{{"-no-such-flag"}, {"-max-connections", "many"}, {"-h"}} {
		if _, err := loadArgs(t, args...); !errors.Is(err, ErrUsage) {
			t.Errorf("%q: %v, want ErrUsage", args, err)
		}
	}
}

// TestDev: -dev is one node on loopback, alone and (without cluster TLS
// and a gossip key) insecure; what a flag or the file gives stays.
func TestDev(t *testing.T) {
	n, err := loadArgs(t, "-dev", "-config", writeFile(t, `{"raft-addr": "0.0.0.0:9202"}`), "-api-addr", "0.0.0.0:9200", "-join", "x:1", "-bootstrap-expect", "3")
	if err != nil {
		t.Fatal(err)
	}
	if n.NodeID != "dev" || n.DataDir != "" || !n.Insecure || n.BootstrapExpect != 1 || n.Join != nil {
		t.Errorf("dev node: %+v", n)
	}
	if n.APIAddr != "0.0.0.0:9200" || n.RaftAddr != "0.0.0.0:9202" || n.ClusterAddr != "127.0.0.1:8201" || n.GossipAddr != "127.0.0.1:8203" {
		t.Errorf("dev addresses: api %s cluster %s raft %s gossip %s", n.APIAddr, n.ClusterAddr, n.RaftAddr, n.GossipAddr)
	}
	n, err = loadArgs(t, "-dev", "-node-id", "mine")
	if err != nil || n.NodeID != "mine" {
		t.Fatalf("-dev -node-id mine: %q, %v", n.NodeID, err)
	}
}

// TestComplete: settings whose zero means the default get it; those where
// zero is a choice keep it.
func TestComplete(t *testing.T) {
	var n Node
	n.HTTPReadTimeout = -time.Second
	n.Complete()
	d := Default()
	if n.Region != d.Region || n.Account != d.Account || n.HTTPReadHeaderTimeout != d.HTTPReadHeaderTimeout ||
		n.HTTPReadTimeout != d.HTTPReadTimeout || n.HTTPWriteTimeout != d.HTTPWriteTimeout || n.HTTPIdleTimeout != d.HTTPIdleTimeout ||
		n.HeartbeatTimeout != d.HeartbeatTimeout || n.ElectionTimeout != d.ElectionTimeout ||
		n.SnapshotThreshold != d.SnapshotThreshold || n.TrailingLogs != d.TrailingLogs || n.SnapshotInterval != d.SnapshotInterval {
		t.Errorf("Complete left a default out: %+v", n)
	}
	if n.MaxConnections != 0 || n.MaxConnectionsPerIP != 0 || n.MinFreeDisk != 0 || n.APIAddr != "" {
		t.Errorf("Complete filled a setting whose zero is a choice: %+v", n)
	}
	c := Cluster{SnapshotThreshold: 5}
	c.Complete()
	if c.SnapshotThreshold != 5 || c.TrailingLogs != d.TrailingLogs {
		t.Errorf("Cluster.Complete: %+v", c)
	}
}
