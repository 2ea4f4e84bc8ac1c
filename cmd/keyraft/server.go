package main

import (
	"context"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	_ "net/http/pprof"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"
	"google.golang.org/grpc/grpclog"

	"github.com/keyraft/keyraft/config"
	"github.com/keyraft/keyraft/kms"
	"github.com/keyraft/keyraft/node"
	operatorapi "github.com/keyraft/keyraft/operator"
	"github.com/keyraft/keyraft/seed"
)

func runServer(args []string) int {
	cfg, err := config.Load(args)
	if errors.Is(err, flag.ErrHelp) {
		return 0 // the usage is printed
	}
	if errors.Is(err, config.ErrUsage) {
		return 2 // the flag package has said why
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "keyraft server: %v\n", err)
		return 2
	}
	if cfg.PprofAddr != "" {
		addr := cfg.PprofAddr
		go func() { _ = http.ListenAndServe(addr, nil) }() // DefaultServeMux holds net/http/pprof
	}
	cfg.Logger = newLogger(cfg.LogLevel, cfg.LogFormat)
	if config.TestKnobsBuilt {
		cfg.Logger.Warn("this binary was built with -tags keyraft_testknobs: its -test-* flags bend time and storage; never run it in production")
	}
	if err := protectMemory(cfg.Logger, cfg.Dev, cfg.DisableMlock, cfg.EnableCoreDumps); err != nil {
		fmt.Fprintf(os.Stderr, "keyraft server: %v\n", err)
		return 1
	}
	if cfg.Dev {
		return runDev(cfg)
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

// newLogger is the process's one logger, on stderr, in format ("json":
// hclog's JSON lines). Everything else that logs is sent through it, so
// that a log shipper reads one format: Go's standard logger (net/http's
// "TLS handshake error" lines use it) and gRPC's error log; raft and
// memberlist are given it by the cluster package.
func newLogger(level, format string) hclog.Logger {
	l := hclog.New(&hclog.LoggerOptions{Name: "keyraft", Level: hclog.LevelFromString(level), Output: os.Stderr,
		JSONFormat: format == "json"})
	log.SetFlags(0)
	log.SetPrefix("")
	log.SetOutput(l.Named("stdlog").StandardWriter(&hclog.StandardLoggerOptions{InferLevels: true}))
	// gRPC logs only errors unless its environment variables ask for more,
	// as its default logger does.
	grpclog.SetLoggerV2(grpclog.NewLoggerV2(io.Discard, io.Discard,
		l.Named("grpc").StandardWriter(&hclog.StandardLoggerOptions{ForceLevel: hclog.Error})))
	return l
}

func waitForSignal() {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGINT, syscall.SIGTERM)
	<-ch
}

// runDev runs one node (on loopback: config.Load made it so) in a temporary
// directory, initialised with a single share and unsealed, and prints how
// to point the AWS CLI at it.
func runDev(cfg config.Node) int {
	// The seed file is read before anything starts: a bad one refuses
	// the start-up, naming the entry, with no node left half-seeded.
	var keys *seed.File
	if cfg.Seed != "" {
		b, err := readSeed(cfg.Seed)
		if err == nil {
			keys, err = seed.Parse(b)
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "keyraft server -dev -seed %s: %v\n", cfg.Seed, err)
			return 2
		}
	}
	dataFate := "kept on exit: -data-dir was given"
	if cfg.DataDir == "" {
		dataFate = "removed on exit"
		dir, err := os.MkdirTemp("", "keyraft-dev-")
		if err != nil {
			fmt.Fprintf(os.Stderr, "keyraft server -dev: %v\n", err)
			return 1
		}
		defer os.RemoveAll(dir)
		cfg.DataDir = dir
	}
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
	if keys != nil {
		// Its own deadline: a large seed is a few commits per key, more
		// than the init's 30 s allow on a slow machine.
		sctx, scancel := context.WithTimeout(context.Background(), 5*time.Minute)
		err := seedKeys(sctx, s, keys)
		scancel()
		if err != nil {
			res.Forget()
			fmt.Fprintf(os.Stderr, "keyraft server -dev -seed %s: %v\n", cfg.Seed, err)
			return 1
		}
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
keyraft is running in -dev mode: one node, in-memory seal state, data in %s (%s).
`, cfg.DataDir, dataFate)
	if keys != nil {
		fmt.Printf("Seeded %d keys from %s.\n", len(keys.Keys), cfg.Seed)
	}
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
	// KEYRAFT_ADDR (for the keyraft CLI) comes last: scripts that read
	// the first four lines get the AWS CLI's settings, as before.
	fmt.Printf(`export AWS_DEFAULT_REGION=%s
export KEYRAFT_ADDR=%s

`, cfg.Region, endpoint)
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

// readSeed reads at most seed.MaxSize+1 bytes, so that seed.Parse can
// refuse a larger file without this process reading all of it.
func readSeed(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, seed.MaxSize+1))
}

// seedKeys creates the file's keys in order, each through the replicated
// commands and audited (node.Server.SeedKey); the first refusal stops the
// start-up, naming the entry.
func seedKeys(ctx context.Context, s *node.Server, f *seed.File) error {
	for i, k := range f.Keys {
		sk := kms.SeedKey{KeyID: k.KeyId, Description: k.Description, KeySpec: k.KeySpec, KeyUsage: k.KeyUsage,
			Policy: k.Policy, Aliases: k.Aliases, Material: k.Material}
		for _, t := range k.Tags {
			sk.Tags = append(sk.Tags, [2]string{t.TagKey, t.TagValue})
		}
		if err := s.SeedKey(ctx, sk); err != nil {
			return fmt.Errorf("%s: %w", seed.Name(i, k.KeyId), err)
		}
	}
	return nil
}
