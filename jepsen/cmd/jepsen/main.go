// Command jepsen runs keyraft's fault-injection test: it builds keyraft,
// starts a cluster (docker-compose or local processes), drives it with AWS
// SDK clients while a seeded nemesis kills, pauses, partitions and seals
// nodes, then checks the history and writes a report directory.
//
//	go run ./cmd/jepsen -backend local -nodes 3 -duration 60s -seed 7
//
// It exits 0 when every checker passes, 1 when one does not, 2 when the
// run itself could not be made.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/keyraft/keyraft/jepsen/nemesis"
)

// options are the command's flags.
type options struct {
	backend    string
	nodes      int
	duration   time.Duration
	seed       int64
	out        string
	src        string
	rev        string
	clients    int
	rate       float64
	groups     int
	groupLife  time.Duration
	groupInfo  int
	faults     string
	dayLength  string
	serverArgs string
	opTimeout  time.Duration
	linTimeout time.Duration
	logLevel   string
	check      string
	tls        bool
}

func main() {
	var o options
	flag.StringVar(&o.backend, "backend", "auto", "docker, local, or auto (docker when `docker info` works)")
	flag.IntVar(&o.nodes, "nodes", 3, "cluster size: 3 or 5")
	flag.DurationVar(&o.duration, "duration", time.Minute, "how long the workload and nemesis run")
	flag.Int64Var(&o.seed, "seed", 0, "seed of the fault schedule and the workload (0: from the clock; printed)")
	flag.StringVar(&o.out, "out", "out", "directory under which each run gets its own directory")
	flag.StringVar(&o.src, "src", "..", "the keyraft checkout to build")
	flag.StringVar(&o.rev, "rev", "HEAD", "git revision of -src to build (extracted with git archive); empty builds the working tree")
	flag.IntVar(&o.clients, "clients", 0, "client workers (ops go to idle workers at -rate; a worker waits up to -op-timeout); 0: rate × op-timeout × 1.25")
	flag.Float64Var(&o.rate, "rate", 60, "target ops/s of all clients together")
	flag.IntVar(&o.groups, "groups", 6, "key groups in use at once (each: a few keys and one alias)")
	flag.DurationVar(&o.groupLife, "group-life", 20*time.Second, "how long a key group takes new ops before a fresh one replaces it")
	flag.IntVar(&o.groupInfo, "group-indeterminate", 8, "most writes without an answer per key group (writes in flight count); a group that reaches it retires")
	flag.StringVar(&o.faults, "faults", strings.Join(nemesis.AllKinds, ","), "fault kinds to draw from; empty for none")
	flag.StringVar(&o.dayLength, "day-length", "2s", "the servers' -test-day-length, so 7-day deletion windows end in-run; empty for real days")
	flag.DurationVar(&o.opTimeout, "op-timeout", 3*time.Second, "client timeout; an op without an answer by then is indeterminate")
	flag.DurationVar(&o.linTimeout, "porcupine-timeout", 2*time.Minute, "linearizability check budget per key group")
	flag.StringVar(&o.logLevel, "log-level", "info", "server log level")
	flag.StringVar(&o.serverArgs, "server-args", "-raft-snapshot-threshold 128 -raft-trailing-logs 32 -raft-snapshot-interval 1s",
		"more server flags, space-separated; the default makes Raft snapshot every few seconds and keep a short log, so that restarts restore snapshots and nodes back from a fault catch up by snapshot install")
	flag.BoolVar(&o.tls, "tls", true, "run nodes as the project's docker-compose.yml does: HTTPS API, mutual TLS between nodes, encrypted gossip")
	flag.StringVar(&o.check, "check", "", "re-run the offline checkers on this run directory instead of making a run")
	flag.Parse()
	if o.check != "" {
		valid, err := recheck(o.check, o)
		if err != nil {
			fmt.Fprintf(os.Stderr, "jepsen: %v\n", err)
			os.Exit(2)
		}
		if !valid {
			os.Exit(1)
		}
		return
	}
	if o.nodes != 3 && o.nodes != 5 {
		fmt.Fprintln(os.Stderr, "jepsen: -nodes must be 3 or 5")
		os.Exit(2)
	}
	if o.seed == 0 {
		o.seed = time.Now().UnixNano() % 1_000_000_000
	}
	if o.backend == "auto" {
		o.backend = "local"
		if exec.Command("docker", "info").Run() == nil {
			o.backend = "docker"
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	valid, err := run(ctx, o)
	if err != nil {
		fmt.Fprintf(os.Stderr, "jepsen: %v\n", err)
		os.Exit(2)
	}
	if !valid {
		os.Exit(1)
	}
}

func logf(format string, args ...any) {
	fmt.Printf("%s %s\n", time.Now().Format("15:04:05.000"), fmt.Sprintf(format, args...))
}

// runDir makes the run's directory: OUT/20060102-150405-BACKEND-nN-seedS.
func runDir(o options) (string, error) {
	name := fmt.Sprintf("%s-%s-n%d-seed%d", time.Now().Format("20060102-150405"), o.backend, o.nodes, o.seed)
	dir, err := filepath.Abs(filepath.Join(o.out, name))
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	// Local nodes may run under their own uids (for partitions): let them
	// reach the binary below this directory.
	for d := dir; d != "/"; d = filepath.Dir(d) {
		if st, err := os.Stat(d); err == nil && st.Mode().Perm()&0o001 == 0 && strings.HasPrefix(d, filepath.Dir(dir)) {
			_ = os.Chmod(d, st.Mode().Perm()|0o011)
		}
	}
	return dir, nil
}

func kinds(s string) []string {
	var out []string
	for _, k := range strings.Split(s, ",") {
		if k = strings.TrimSpace(k); k != "" {
			out = append(out, k)
		}
	}
	return out
}
