package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	_ "net/http/pprof"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/memberlist"

	"github.com/keyraft/keyraft/internal/diskspace"
	"github.com/keyraft/keyraft/node"
	operatorapi "github.com/keyraft/keyraft/operator"
)

func runServer(args []string) int {
	fs := flag.NewFlagSet("server", flag.ContinueOnError)
	var (
		cfg           node.Config
		join          string
		config        string
		dev           bool
		logLevel      string
		pprofAddr     string
		gossipKey     string
		gossipKeyFile string
	)
	fs.StringVar(&config, "config", "", "JSON file of flag values (flag names as keys); flags given on the command line win")
	fs.BoolVar(&dev, "dev", false, "one node in a temporary data dir, initialised with one share and unsealed")
	fs.StringVar(&cfg.NodeID, "node-id", "", "this server's unique id")
	fs.StringVar(&cfg.DataDir, "data-dir", "", "directory for the raft store and snapshots")
	fs.StringVar(&cfg.APIAddr, "api-addr", "0.0.0.0:8200", "AWS KMS and operator API listener")
	fs.StringVar(&cfg.ClusterAddr, "cluster-addr", "0.0.0.0:8201", "gRPC listener for node-to-node calls")
	fs.StringVar(&cfg.RaftAddr, "raft-addr", "0.0.0.0:8202", "raft transport listener")
	fs.StringVar(&cfg.GossipAddr, "gossip-addr", "0.0.0.0:8203", "memberlist gossip listener (TCP and UDP)")
	fs.StringVar(&cfg.Advertise, "advertise", "", "host or IP peers use to reach this server when a listener binds 0.0.0.0")
	limitFlags(fs, &cfg)
	fs.StringVar(&join, "join", "", "comma-separated gossip seeds host:port, retried until one answers")
	fs.IntVar(&cfg.BootstrapExpect, "bootstrap-expect", 0, "form the cluster once this many servers have found each other")
	fs.StringVar(&cfg.TLSCertFile, "tls-cert-file", "", "serve the API over HTTPS with this certificate (PEM; with -tls-key-file)")
	fs.StringVar(&cfg.TLSKeyFile, "tls-key-file", "", "the API certificate's private key (PEM)")
	fs.StringVar(&cfg.ClusterCAFile, "cluster-ca-file", "", "mutual TLS on the cluster and raft listeners: the CA every node's certificate must chain to (with -cluster-cert-file, -cluster-key-file)")
	fs.StringVar(&cfg.ClusterCertFile, "cluster-cert-file", "", "this node's cluster certificate (PEM); it must name -node-id")
	fs.StringVar(&cfg.ClusterKeyFile, "cluster-key-file", "", "this node's cluster key (PEM)")
	fs.StringVar(&gossipKey, "gossip-key", "", "encrypt gossip with this key: base64 of 16, 24 or 32 bytes, the same on every node (`keyraft operator gossip-keygen`)")
	fs.StringVar(&gossipKeyFile, "gossip-key-file", "", "read -gossip-key from this file, keeping it out of the process list")
	fs.BoolVar(&cfg.Insecure, "insecure", false, "run the cluster without mutual TLS and a gossip key: any process that reaches its ports can join it and read its state; warns every minute and refuses `operator unseal -all`")
	fs.StringVar(&cfg.Region, "region", "us-east-1", "AWS region in ARNs and the SigV4 credential scope")
	fs.StringVar(&cfg.Account, "account-id", "111122223333", "AWS account id in ARNs")
	fs.StringVar(&logLevel, "log-level", "info", "trace, debug, info, warn or error")
	fs.StringVar(&pprofAddr, "pprof-addr", "", "serve Go's /debug/pprof on this address (loopback only, for profiling)")
	fs.IntVar(&cfg.AuditRetainEvents, "audit-retain-events", 0, "keep at most this many audit events; the leader trims the oldest (0 keeps all)")
	fs.DurationVar(&cfg.AuditRetainAge, "audit-retain-age", 0, "trim audit events older than this, e.g. 2160h (0 keeps all)")
	fs.IntVar(&cfg.AuditRetainMiB, "audit-retain-mib", 0, "keep at most this many MiB of audit segments (64 MiB each); the leader trims the oldest whole segments (0 keeps all)")
	fs.DurationVar(&cfg.AuditReturnWait, "audit-batch-return-wait", 0, "let a batch of audit events wait up to this long (at most one Raft round) while most come from callers that come straight back, e.g. 5ms: more throughput for worker pools, up to that much more latency for callers sharing pooled connections (0: 1 ms for everyone)")
	fs.Uint64Var(&cfg.SnapshotThreshold, "raft-snapshot-threshold", 8192, "take a Raft snapshot once this many entries follow the last one")
	fs.Uint64Var(&cfg.TrailingLogs, "raft-trailing-logs", 10240, "Raft entries kept after a snapshot, for followers that fall briefly behind")
	fs.DurationVar(&cfg.SnapshotInterval, "raft-snapshot-interval", 2*time.Minute, "how often Raft checks -raft-snapshot-threshold (it adds up to this much jitter)")
	cfg.MinFreeDisk = node.DefaultMinFreeDisk
	fs.Var(sizeFlag{&cfg.MinFreeDisk}, "min-free-disk", "refuse writes (503, NOSPACE alarm in status) while any voter's data dir has less free space than this, e.g. 256MiB, 1GiB; 0 turns the check off")
	disableMlock := fs.Bool("disable-mlock", false, "do not lock memory (mlockall); unsealed keys may then be swapped to disk. Without it the server refuses to start when it cannot lock")
	enableCoreDumps := fs.Bool("enable-core-dumps", false, "allow core dumps, which would hold unsealed keys (off by default)")
	registerTestKnobs(fs, &cfg)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if config != "" {
		if err := applyConfigFile(fs, config); err != nil {
			fmt.Fprintf(os.Stderr, "keyraft server: %v\n", err)
			return 2
		}
	}
	if cfg.AuditReturnWait < 0 || cfg.AuditReturnWait > 100*time.Millisecond {
		fmt.Fprintf(os.Stderr, "keyraft server: -audit-batch-return-wait %s: want 0 to 100ms\n", cfg.AuditReturnWait)
		return 2
	}
	key, err := readGossipKey(fs, gossipKey, gossipKeyFile)
	if err != nil {
		fmt.Fprintf(os.Stderr, "keyraft server: %v\n", err)
		return 2
	}
	cfg.GossipKey = key
	for _, j := range strings.Split(join, ",") {
		if j = strings.TrimSpace(j); j != "" {
			cfg.Join = append(cfg.Join, j)
		}
	}
	if pprofAddr != "" {
		if err := checkLoopback(pprofAddr); err != nil {
			fmt.Fprintf(os.Stderr, "keyraft server: -pprof-addr: %v\n", err)
			return 2
		}
		go func() { _ = http.ListenAndServe(pprofAddr, nil) }() // DefaultServeMux holds net/http/pprof
	}
	cfg.Logger = hclog.New(&hclog.LoggerOptions{Name: "keyraft", Level: hclog.LevelFromString(logLevel), Output: os.Stderr})
	if testKnobsBuilt {
		cfg.Logger.Warn("this binary was built with -tags keyraft_testknobs: its -test-* flags bend time and storage; never run it in production")
	}
	if err := protectMemory(cfg.Logger, dev, *disableMlock, *enableCoreDumps); err != nil {
		fmt.Fprintf(os.Stderr, "keyraft server: %v\n", err)
		return 1
	}
	if dev {
		return runDev(fs, cfg)
	}
	if cfg.NodeID == "" || cfg.DataDir == "" {
		fmt.Fprintln(os.Stderr, "keyraft server: -node-id and -data-dir are required (or use -dev)")
		return 2
	}
	s, err := node.Start(cfg)
	if err != nil {
		fmt.Fprintf(os.Stderr, "keyraft server: %v\n", err)
		return 1
	}
	waitForSignal()
	s.Shutdown()
	return 0
}

// applyConfigFile sets every flag named in the file that the command line
// did not set.
func applyConfigFile(fs *flag.FlagSet, path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var values map[string]any
	if err := json.Unmarshal(b, &values); err != nil {
		return fmt.Errorf("config %s: %w", path, err)
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	for name, v := range values {
		if strings.HasPrefix(name, "test-") {
			return fmt.Errorf("config %s: %q is a test-only setting; it cannot be set from a config file", path, name)
		}
		if fs.Lookup(name) == nil {
			return fmt.Errorf("config %s: unknown setting %q", path, name)
		}
		if given[name] {
			continue
		}
		if err := fs.Set(name, fmt.Sprint(v)); err != nil {
			return fmt.Errorf("config %s: %s: %w", path, name, err)
		}
	}
	return nil
}

// readGossipKey decodes the gossip key from -gossip-key or the file
// -gossip-key-file names; nil when neither is given. A flag given empty is
// an error rather than plaintext gossip.
func readGossipKey(fs *flag.FlagSet, key, file string) ([]byte, error) {
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	switch {
	case given["gossip-key"] && given["gossip-key-file"]:
		return nil, errors.New("give -gossip-key or -gossip-key-file, not both")
	case given["gossip-key-file"]:
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("gossip key: %w", err)
		}
		key = string(b)
	case !given["gossip-key"]:
		return nil, nil
	}
	b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(key))
	if err != nil {
		return nil, fmt.Errorf("gossip key: not base64: %w", err)
	}
	if err := memberlist.ValidateKey(b); err != nil {
		return nil, fmt.Errorf("gossip key: %d bytes: %w", len(b), err)
	}
	return b, nil
}

func waitForSignal() {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGINT, syscall.SIGTERM)
	<-ch
}

// runDev runs one node on loopback in a temporary directory, initialised
// with a single share and unsealed, and prints how to point the AWS CLI at it.
func runDev(fs *flag.FlagSet, cfg node.Config) int {
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	defaults := map[string]*string{"api-addr": &cfg.APIAddr, "cluster-addr": &cfg.ClusterAddr, "raft-addr": &cfg.RaftAddr, "gossip-addr": &cfg.GossipAddr}
	for name, p := range defaults {
		if !given[name] {
			*p = strings.Replace(*p, "0.0.0.0", "127.0.0.1", 1)
		}
	}
	if cfg.NodeID == "" {
		cfg.NodeID = "dev"
	}
	// One node on loopback, alone in its cluster: nothing to authenticate
	// between nodes unless cluster TLS is given anyway.
	if cfg.ClusterCAFile == "" || len(cfg.GossipKey) == 0 {
		cfg.Insecure = true
	}
	if cfg.DataDir == "" {
		dir, err := os.MkdirTemp("", "keyraft-dev-")
		if err != nil {
			fmt.Fprintf(os.Stderr, "keyraft server -dev: %v\n", err)
			return 1
		}
		defer os.RemoveAll(dir)
		cfg.DataDir = dir
	}
	cfg.BootstrapExpect, cfg.Join = 1, nil
	s, err := node.Start(cfg)
	if err != nil {
		fmt.Fprintf(os.Stderr, "keyraft server -dev: %v\n", err)
		return 1
	}
	defer s.Shutdown()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := devInit(ctx, s)
	if err != nil {
		fmt.Fprintf(os.Stderr, "keyraft server -dev: %v\n", err)
		return 1
	}
	scheme := "http://"
	if cfg.TLSCertFile != "" {
		scheme = "https://"
	}
	endpoint := scheme + dialable(s.APIAddr())
	// The share and the secret are written from a buffer that is zeroed
	// afterwards, not through fmt (whose pooled buffers would keep them),
	// so that `operator seal` leaves no copy in this process.
	fmt.Printf(`
keyraft is running in -dev mode: one node, in-memory seal state, data in %s (removed on exit).
`, cfg.DataDir)
	b := make([]byte, 0, 128) // room for either line: no copy left by growing
	b = base64.StdEncoding.AppendEncode(append(b, "Unseal share (already applied): "...), res.Shares[0])
	_, _ = os.Stdout.Write(b)
	clear(b)
	fmt.Printf(`

Paste these lines into another shell, then try: aws kms create-key

export AWS_ENDPOINT_URL=%s
export AWS_ACCESS_KEY_ID=%s
`, endpoint, res.AccessKeyID)
	b = append(append(append(b[:0], "export AWS_SECRET_ACCESS_KEY="...), res.SecretAccessKey...), '\n')
	_, _ = os.Stdout.Write(b)
	clear(b)
	res.Forget()
	fmt.Printf(`export AWS_DEFAULT_REGION=%s

`, cfg.Region)
	waitForSignal()
	return 0
}

func devInit(ctx context.Context, s *node.Server) (*operatorapi.InitResult, error) {
	for !s.Node().IsLeader() {
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("no leader elected: %w", ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
	res, err := s.Initialize(ctx, nil, 1, 1)
	if err != nil {
		return nil, fmt.Errorf("init: %w", err)
	}
	st, err := s.Unseal(res.Shares[0], false)
	if err != nil {
		return nil, fmt.Errorf("unseal: %w", err)
	}
	if err := s.RecordSetup(ctx, "OperatorUnseal", map[string]any{"progress": st.Progress, "sealed": st.Sealed, "dev": true}); err != nil {
		return nil, err
	}
	return res, nil
}

// dialable turns a wildcard listen address into one a local client can dial.
func dialable(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}

// sizeFlag is a byte count flag written as 256MiB, 1GiB or a plain number.
type sizeFlag struct{ p *uint64 }

func (f sizeFlag) String() string {
	if f.p == nil {
		return ""
	}
	return fmt.Sprint(*f.p)
}

func (f sizeFlag) Set(s string) error {
	n, err := diskspace.ParseSize(s)
	if err != nil {
		return err
	}
	*f.p = n
	return nil
}
