package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/keyraft/keyraft/bench"
)

// benchGCPercent is the GC target of the bench process unless GOGC is set.
// The SDK allocates about 50 KB per 4 KiB request on a live heap of a few MB,
// so the default of 100 collects some 25 times a second; marking, assists and
// the scavenger handing pages back to the kernel were about a fifth of the
// bench's CPU profile, CPU it takes from the servers it measures when they
// share a machine.
// At 1000 the heap stays within a few tens of MB and a 4 KiB Encrypt at 16
// clients cost the bench about 35% less CPU (GOGC 400 and 2000, and no GC
// target with a 128 MiB limit, measured no better).
const benchGCPercent = 1000

// runBench is `keyraft bench`: flag parsing and output around bench.Run.
func runBench(args []string) int {
	if len(args) > 0 {
		if sub, ok := benchCommands[args[0]]; ok {
			return sub(args[1:])
		}
	}
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	describe(fs, "bench [flags]", "Load-test a KMS endpoint through the AWS SDK and report ops/s, latency and CPU per op.\nSigned with $AWS_ACCESS_KEY_ID / $AWS_SECRET_ACCESS_KEY; region from $AWS_REGION.\n"+
		"Also `bench populate` and `bench list-keys` (-h for each): the scale measurements of bench/scale.sh.")
	defaultEndpoint := os.Getenv("AWS_ENDPOINT_URL")
	if defaultEndpoint == "" {
		defaultEndpoint = "http://127.0.0.1:8200"
	}
	var (
		cfg                 bench.Config
		endpoints, op, pids string
		keyIDs              string
		format, cpuProfile  string
		target              string
	)
	fs.StringVar(&target, "target", string(bench.TargetKMS), "kms (the AWS KMS API, signed with SigV4) or openbao (OpenBao's or Vault's transit engine at transit/, with -token)")
	fs.StringVar(&cfg.Token, "token", "", "-target openbao: the X-Vault-Token (default $BAO_TOKEN, else $VAULT_TOKEN)")
	fs.StringVar(&endpoints, "endpoint", defaultEndpoint, "comma-separated KMS endpoint URLs; clients are spread round-robin over them (also $AWS_ENDPOINT_URL)")
	fs.StringVar(&op, "op", string(bench.OpEncrypt), "encrypt, decrypt, generate-data-key, mixed (a third of each of the first three), sign, verify, generate-mac or verify-mac")
	fs.StringVar(&cfg.KeySpec, "key-spec", "", "spec of the keys created, the op's default if empty; encrypt, decrypt: "+bench.SpecsFor(bench.OpEncrypt)+
		"; sign, verify: "+bench.SpecsFor(bench.OpSign)+"; generate-mac, verify-mac: "+bench.SpecsFor(bench.OpGenerateMac)+
		"; generate-data-key, mixed: "+bench.SpecsFor(bench.OpGenerateDataKey))
	fs.IntVar(&cfg.Size, "size", 4096, fmt.Sprintf("plaintext bytes for encrypt and decrypt (RSA keys: at most the OAEP-SHA-256 limit, 190 for RSA_2048), message bytes for sign, verify and the MAC ops; 1..%d", bench.MaxSize))
	fs.IntVar(&cfg.Clients, "c", 16, "concurrent clients")
	fs.Float64Var(&cfg.Rate, "rate", 0, "open loop: send this many requests per second in all, on schedule whatever the answers (latency counts from when each was due); 0: closed loop")
	fs.DurationVar(&cfg.Duration, "d", 10*time.Second, "length of the timed phase")
	fs.DurationVar(&cfg.Warmup, "warmup", time.Second, "warm-up before the timed phase, not counted")
	fs.IntVar(&cfg.Keys, "keys", 1, "number of keys to create and spread the load over")
	fs.StringVar(&keyIDs, "key-id", "", "comma-separated ids of existing keys to spread the load over instead of creating -keys keys")
	fs.StringVar(&pids, "server-pids", "", "comma-separated pids of local server processes whose CPU time per op to report")
	fs.StringVar(&format, "format", "table", "table or json")
	fs.StringVar(&cpuProfile, "cpuprofile", "", "write the load generator's own CPU profile to this file (go tool pprof)")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return usageExit(err)
	}
	if len(pos) > 0 {
		fmt.Fprintf(os.Stderr, "keyraft bench: unexpected argument %q\n", pos[0])
		return 2
	}
	if format != "table" && format != "json" {
		fmt.Fprintf(os.Stderr, "keyraft bench: -format %q: want table or json\n", format)
		return 2
	}
	if cfg.Duration <= 0 {
		fmt.Fprintln(os.Stderr, "keyraft bench: -d must be positive")
		return 2
	}
	if cfg.Warmup == 0 {
		cfg.Warmup = -1 // -warmup 0 means none, not the default
	}
	cfg.Op = bench.Op(op)
	cfg.Endpoints = splitList(endpoints)
	cfg.KeyIDs = splitList(keyIDs)
	for _, p := range splitList(pids) {
		pid, err := strconv.Atoi(p)
		if err != nil {
			fmt.Fprintf(os.Stderr, "keyraft bench: -server-pids: %q is not a pid\n", p)
			return 2
		}
		cfg.ServerPIDs = append(cfg.ServerPIDs, pid)
	}
	cfg.Target = bench.Target(target)
	switch cfg.Target {
	case bench.TargetKMS:
		cfg.AccessKeyID, cfg.SecretAccessKey = os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY")
		cfg.SessionToken = os.Getenv("AWS_SESSION_TOKEN")
		if cfg.Region = os.Getenv("AWS_REGION"); cfg.Region == "" {
			cfg.Region = os.Getenv("AWS_DEFAULT_REGION")
		}
		if cfg.AccessKeyID == "" || cfg.SecretAccessKey == "" {
			fmt.Fprintln(os.Stderr, "keyraft bench: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (keyraft server -dev prints them)")
			return 2
		}
	case bench.TargetOpenBao:
		for _, env := range []string{"BAO_TOKEN", "VAULT_TOKEN"} {
			if cfg.Token == "" {
				cfg.Token = os.Getenv(env)
			}
		}
		if cfg.Token == "" {
			fmt.Fprintln(os.Stderr, "keyraft bench: -target openbao: set -token, $BAO_TOKEN or $VAULT_TOKEN")
			return 2
		}
	}
	cfg.Progress = os.Stderr
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(benchGCPercent)
	}

	if cpuProfile != "" {
		f, err := os.Create(cpuProfile)
		if err != nil {
			fmt.Fprintf(os.Stderr, "keyraft bench: -cpuprofile: %v\n", err)
			return 1
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintf(os.Stderr, "keyraft bench: -cpuprofile: %v\n", err)
			return 1
		}
		defer pprof.StopCPUProfile()
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	res, err := bench.Run(ctx, cfg)
	if errors.Is(err, bench.ErrConfig) {
		fmt.Fprintf(os.Stderr, "keyraft %v\n", err)
		return 2
	}
	if err != nil && res.Duration == 0 {
		fmt.Fprintf(os.Stderr, "keyraft %v\n", err)
		return 1
	}
	for _, s := range res.ErrorSamples {
		fmt.Fprintf(os.Stderr, "keyraft bench: error (%d times): %s\n", s.Count, s.Message)
	}
	if format == "json" {
		printBenchJSON(os.Stdout, res)
	} else {
		printBenchTable(os.Stdout, res)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "keyraft %v\n", err)
		return 1
	}
	if res.Errors > 0 {
		return 1
	}
	return 0
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// benchJSON is the -format json object; fields are never renamed.
type benchJSON struct {
	Target           string   `json:"target"`
	Op               string   `json:"op"`
	KeySpec          string   `json:"key_spec"`
	Clients          int      `json:"clients"`
	Rate             float64  `json:"rate,omitempty"`
	Size             int      `json:"size"`
	Keys             int      `json:"keys"`
	Endpoints        []string `json:"endpoints"`
	DurationS        float64  `json:"duration_s"`
	Ops              uint64   `json:"ops"`
	Errors           uint64   `json:"errors"`
	OpsPerSec        float64  `json:"ops_per_sec"`
	P50ms            float64  `json:"p50_ms"`
	P99ms            float64  `json:"p99_ms"`
	P999ms           float64  `json:"p999_ms"`
	MaxMs            float64  `json:"max_ms"`
	ServerCPUusPerOp *float64 `json:"server_cpu_us_per_op"`
	// ServerCPUusPerOpByPID splits server_cpu_us_per_op by process (keys
	// are the -server-pids), so a leader's own share can be read.
	ServerCPUusPerOpByPID map[string]float64 `json:"server_cpu_us_per_op_by_pid,omitempty"`
	ClientCPUusPerOp      *float64           `json:"client_cpu_us_per_op"`
}

func ms(d time.Duration) float64 { return round3(float64(d) / float64(time.Millisecond)) }
func us(d time.Duration) float64 { return round3(float64(d) / float64(time.Microsecond)) }

func round3(f float64) float64 {
	v, _ := strconv.ParseFloat(strconv.FormatFloat(f, 'f', 3, 64), 64)
	return v
}

func printBenchJSON(w io.Writer, r bench.Result) {
	out := benchJSON{
		Target: string(r.Target), Op: string(r.Op), KeySpec: r.KeySpec, Clients: r.Clients, Rate: r.Rate, Size: r.Size, Keys: r.Keys, Endpoints: r.Endpoints,
		DurationS: round3(r.Duration.Seconds()), Ops: r.Ops, Errors: r.Errors, OpsPerSec: round3(r.OpsPerSec),
		P50ms: ms(r.P50), P99ms: ms(r.P99), P999ms: ms(r.P999), MaxMs: ms(r.Max),
	}
	if r.ServerCPUMeasured {
		v := us(r.ServerCPUPerOp)
		out.ServerCPUusPerOp = &v
		out.ServerCPUusPerOpByPID = make(map[string]float64, len(r.ServerPIDs))
		for i, pid := range r.ServerPIDs {
			out.ServerCPUusPerOpByPID[strconv.Itoa(pid)] = us(r.ServerCPUPerOpEach[i])
		}
	}
	if r.ClientCPUMeasured {
		v := us(r.ClientCPUPerOp)
		out.ClientCPUusPerOp = &v
	}
	b, _ := json.Marshal(out)
	fmt.Fprintf(w, "%s\n", b)
}

func printBenchTable(w io.Writer, r bench.Result) {
	loop := "closed-loop"
	if r.Rate > 0 {
		loop = fmt.Sprintf("open-loop at %g/s", r.Rate)
	}
	fmt.Fprintf(w, "target=%s op=%s key-spec=%s size=%d clients=%d (%s) keys=%d endpoints=%s duration=%.2fs\n",
		r.Target, r.Op, r.KeySpec, r.Size, r.Clients, loop, r.Keys, strings.Join(r.Endpoints, ","), r.Duration.Seconds())
	cpu := func(ok bool, d time.Duration) string {
		if !ok {
			return "-"
		}
		return strconv.FormatFloat(us(d), 'f', 1, 64)
	}
	fmt.Fprintf(w, "%10s %10s %8s %8s %9s %8s %7s %15s %15s\n",
		"ops", "ops/s", "p50_ms", "p99_ms", "p99.9_ms", "max_ms", "errors", "server_us/op", "client_us/op")
	fmt.Fprintf(w, "%10d %10.1f %8.3f %8.3f %9.3f %8.3f %7d %15s %15s\n",
		r.Ops, r.OpsPerSec, ms(r.P50), ms(r.P99), ms(r.P999), ms(r.Max), r.Errors,
		cpu(r.ServerCPUMeasured, r.ServerCPUPerOp), cpu(r.ClientCPUMeasured, r.ClientCPUPerOp))
	if r.ServerCPUMeasured && len(r.ServerPIDs) > 1 {
		each := make([]string, len(r.ServerPIDs))
		for i, pid := range r.ServerPIDs {
			each[i] = fmt.Sprintf("%d=%s", pid, cpu(true, r.ServerCPUPerOpEach[i]))
		}
		fmt.Fprintf(w, "server_us/op by pid: %s\n", strings.Join(each, " "))
	}
}
