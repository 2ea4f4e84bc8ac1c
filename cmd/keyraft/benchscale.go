package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/keyraft/keyraft/bench"
)

// benchCommands are the verbs of `keyraft bench` besides the load test:
// what bench/scale.sh needs to fill a cluster and to page through it.
var benchCommands = map[string]func([]string) int{
	"populate":  runBenchPopulate,
	"list-keys": runBenchListKeys,
}

// benchEnv reads the endpoint default and the credentials as `keyraft
// bench` does.
func benchEnv() (endpoint, akid, secret, region string) {
	if endpoint = os.Getenv("AWS_ENDPOINT_URL"); endpoint == "" {
		endpoint = "http://127.0.0.1:8200"
	}
	if region = os.Getenv("AWS_REGION"); region == "" {
		region = os.Getenv("AWS_DEFAULT_REGION")
	}
	return endpoint, os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY"), region
}

func runBenchPopulate(args []string) int {
	fs := flag.NewFlagSet("bench populate", flag.ContinueOnError)
	describe(fs, "bench populate [flags]", "Fill a cluster through its API: -users IAM users, -keys KMS keys, then -grants grants\n"+
		"(Encrypt, Decrypt) on the first key, -c requests in flight. Two of the users get an access key:\n"+
		"bench-policy (an IAM policy allowing kms:*) and bench-grantee (no policy, one of the grants).\n"+
		"Prints one JSON object: the grant key, both users' credentials, the time each part took.\n"+
		"Signed with $AWS_ACCESS_KEY_ID / $AWS_SECRET_ACCESS_KEY (the root's, from operator init).")
	endpoint, akid, secret, region := benchEnv()
	cfg := bench.PopulateConfig{Region: region, AccessKeyID: akid, SecretAccessKey: secret, Progress: os.Stderr}
	fs.StringVar(&cfg.Endpoint, "endpoint", endpoint, "the KMS endpoint URL (also $AWS_ENDPOINT_URL)")
	fs.IntVar(&cfg.Keys, "keys", 100_000, "KMS keys to create")
	fs.IntVar(&cfg.Users, "users", 10_000, "IAM users to create (at least 2)")
	fs.IntVar(&cfg.Grants, "grants", 50_000, "grants to create on the first key")
	fs.IntVar(&cfg.Clients, "c", 64, "requests in flight")
	if code, ok := parseBenchVerb(fs, args); !ok {
		return code
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	pop, err := bench.Populate(ctx, cfg)
	if err != nil {
		fmt.Fprintf(os.Stderr, "keyraft bench populate: %v\n", err)
		if errors.Is(err, bench.ErrConfig) {
			return 2
		}
		return 1
	}
	b, _ := json.Marshal(pop)
	fmt.Printf("%s\n", b)
	return 0
}

func runBenchListKeys(args []string) int {
	fs := flag.NewFlagSet("bench list-keys", flag.ContinueOnError)
	describe(fs, "bench list-keys [flags]", "Page through every key with ListKeys, as a client listing them all does, and print\n"+
		`{"keys": N, "pages": P, "seconds": S}.`+" Signed with $AWS_ACCESS_KEY_ID / $AWS_SECRET_ACCESS_KEY.")
	endpoint, akid, secret, region := benchEnv()
	cfg := bench.Config{Region: region, AccessKeyID: akid, SecretAccessKey: secret, Clients: 1}
	var limit int
	fs.StringVar(&endpoint, "endpoint", endpoint, "the KMS endpoint URL (also $AWS_ENDPOINT_URL)")
	fs.IntVar(&limit, "limit", 1000, "keys a page, 1..1000 (ListKeys' Limit; 100 is AWS's default)")
	if code, ok := parseBenchVerb(fs, args); !ok {
		return code
	}
	if limit < 1 || limit > 1000 {
		fmt.Fprintln(os.Stderr, "keyraft bench list-keys: -limit must be 1..1000")
		return 2
	}
	if akid == "" || secret == "" {
		fmt.Fprintln(os.Stderr, "keyraft bench list-keys: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
		return 2
	}
	cfg.Endpoints = []string{endpoint}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	keys, pages, took, err := bench.PageKeys(ctx, cfg, int32(limit))
	if err != nil {
		fmt.Fprintf(os.Stderr, "keyraft bench list-keys: %v\n", err)
		return 1
	}
	fmt.Printf(`{"keys": %d, "pages": %d, "seconds": %.3f}`+"\n", keys, pages, took.Seconds())
	return 0
}

// parseBenchVerb parses a bench verb's flags; it takes no arguments.
func parseBenchVerb(fs *flag.FlagSet, args []string) (int, bool) {
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return usageExit(err), false
	}
	if len(pos) > 0 {
		fmt.Fprintf(os.Stderr, "keyraft %s: unexpected argument %q\n", fs.Name(), pos[0])
		return 2, false
	}
	return 0, true
}
