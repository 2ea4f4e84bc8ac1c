package main

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/keyraft/keyraft/jepsen/checker"
	"github.com/keyraft/keyraft/jepsen/control"
	"github.com/keyraft/keyraft/jepsen/history"
	"github.com/keyraft/keyraft/jepsen/nemesis"
	"github.com/keyraft/keyraft/jepsen/report"
	"github.com/keyraft/keyraft/jepsen/workload"
)

// run makes one run and reports whether every checker passed.
func run(ctx context.Context, o options) (bool, error) {
	dir, err := runDir(o)
	if err != nil {
		return false, err
	}
	logf("run directory %s", dir)
	cfg := control.Config{Src: o.src, Rev: o.rev, Dir: dir, Nodes: o.nodes, DayLength: o.dayLength, LogLevel: o.logLevel, TLS: o.tls, Logf: logf,
		ServerArgs: strings.Fields(o.serverArgs)}
	if cfg.Src, err = filepath.Abs(o.src); err != nil {
		return false, err
	}
	src, commit, err := control.Source(ctx, cfg)
	if err != nil {
		return false, err
	}
	cfg.Src = src
	if commit != "" {
		logf("building keyraft at %s (%s)", commit, o.rev)
	}

	var c control.Cluster
	if o.backend == "docker" {
		c, err = control.NewDocker(ctx, cfg)
	} else {
		c, err = control.NewLocal(ctx, cfg)
	}
	if err != nil {
		return false, err
	}
	defer func() {
		logf("tearing down the %s cluster", c.Name())
		_ = c.Teardown(context.WithoutCancel(ctx))
		// The binaries are ~30 MB a run; the commit names what was built.
		_ = os.RemoveAll(filepath.Join(dir, "bin"))
		_ = os.RemoveAll(filepath.Join(dir, "image"))
	}()
	if commit != "" {
		_ = os.RemoveAll(src) // built; the commit names it
	}

	faultKinds := kinds(o.faults)
	if err := c.CanPartition(); err != nil && slices.Contains(faultKinds, nemesis.Partition) {
		logf("no partitions in this run: %v", err)
		faultKinds = slices.DeleteFunc(faultKinds, func(k string) bool { return k == nemesis.Partition })
	}
	sched := nemesis.Plan(o.seed, o.duration, o.nodes, faultKinds)
	replay := fmt.Sprintf("go run ./cmd/jepsen -backend %s -nodes %d -duration %s -seed %d -faults %s -rev %s",
		o.backend, o.nodes, o.duration, o.seed, strings.Join(faultKinds, ","), commit)
	fmt.Printf("\nschedule (replay: %s):\n%s\n", replay, sched)
	if err := os.WriteFile(filepath.Join(dir, report.ScheduleFile), []byte("replay: "+replay+"\n"+sched.String()), 0o644); err != nil {
		return false, err
	}

	creds, err := control.Initialize(ctx, c)
	if err != nil {
		return false, fmt.Errorf("initialise the cluster: %w", err)
	}
	logf("cluster initialised and unsealed; leader %s", control.Leader(ctx, c, creds))

	rec, err := history.Create(filepath.Join(dir, report.HistoryFile), time.Now())
	if err != nil {
		return false, err
	}
	runID := strconv.FormatInt(time.Now().UnixNano()%(1<<40), 36)
	endpoints := map[string]string{}
	for _, n := range c.Nodes() {
		endpoints[n] = c.Endpoint(n)
	}
	roots, err := caPool(c.CAFile())
	if err != nil {
		rec.Close()
		return false, err
	}
	w := workload.New(workload.Config{Endpoints: endpoints, Roots: roots, Region: "us-east-1", AccessKey: creds.AccessKeyID, SecretKey: creds.SecretAccessKey,
		Run: runID, Clients: o.clients, Rate: o.rate, Groups: o.groups, GroupLife: o.groupLife, Indeterminate: o.groupInfo,
		OpTimeout: o.opTimeout, Seed: o.seed, Recorder: rec})
	setupCtx, cancel := context.WithTimeout(ctx, time.Minute)
	err = w.Setup(setupCtx)
	cancel()
	if err != nil {
		rec.Close()
		return false, fmt.Errorf("workload setup: %w", err)
	}

	logf("workload: %d clients at %.0f ops/s for %s; nemesis: %d faults", w.Clients(), o.rate, o.duration, len(sched.Steps))
	runCtx, cancelRun := context.WithTimeout(ctx, o.duration)
	var faults []history.Fault
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		n := &nemesis.Nemesis{Cluster: c, Creds: creds, Since: rec.Since, Logf: logf}
		faults = n.Run(runCtx, sched)
	}()
	dropped := w.Run(runCtx)
	endNS := rec.Since()
	var warnings []string
	if dropped > 0 {
		// Then the history has holes exactly where faults are: gaps and
		// recoveries measure the harness, not the cluster.
		msg := fmt.Sprintf("%d ops were not sent: every client was waiting (raise -clients)", dropped)
		logf("%s", msg)
		warnings = append(warnings, msg)
	}
	wg.Wait() // the nemesis heals whatever it holds
	cancelRun()
	if err := history.WriteFaults(filepath.Join(dir, report.FaultsFile), faults); err != nil {
		return false, err
	}

	logf("workload stopped; waiting for a healthy cluster, then the final reads")
	hctx, cancel := context.WithTimeout(ctx, time.Minute)
	if err := control.WaitHealthy(hctx, c, creds); err != nil {
		warnings = append(warnings, "the cluster was not healthy a minute after the last heal: "+err.Error())
	}
	cancel()
	fctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	deleted, err := w.Final(fctx)
	cancel()
	if err != nil {
		warnings = append(warnings, "final phase: "+err.Error())
	}
	if err := rec.Close(); err != nil {
		return false, err
	}
	ops, err := history.ReadFile(filepath.Join(dir, report.HistoryFile))
	if err != nil {
		return false, err
	}
	logf("%d ops recorded in %d key groups; %d faults; %d keys deleted by their windows; checking", len(ops), w.Groups(), len(faults), len(deleted))

	results := check(ctx, c, creds, o, dir, runID, ops, faults, deleted, w, endNS)
	sum := report.Summary{Seed: o.seed, Backend: c.Name(), Nodes: o.nodes, Duration: o.duration.String(), Commit: commit,
		Started: rec.Start(), Replay: replay, Warnings: append(warnings, guards(ops, faults, sched)...)}
	report.Summarize(&sum, ops, faults, results)
	sum.Snapshots = snapshotCounts(ctx, c)
	if taken := countTaken(sum.Snapshots); taken == 0 && strings.Contains(o.serverArgs, "-raft-snapshot-threshold") {
		sum.Warnings = append(sum.Warnings, "no node took a Raft snapshot: the run did not exercise snapshots")
	}
	if err := report.Plot(filepath.Join(dir, report.PlotFile), ops, faults,
		fmt.Sprintf("keyraft %s n=%d seed=%d", c.Name(), o.nodes, o.seed)); err != nil {
		sum.Warnings = append(sum.Warnings, "plot: "+err.Error())
	}
	if err := report.Write(dir, sum); err != nil {
		return false, err
	}
	fmt.Printf("\n%s\nreport: %s\n", sum.Text(), dir)
	return sum.Valid, nil
}

// check runs every checker. The durability and audit checkers read the
// cluster, so they run before it is torn down.
func check(ctx context.Context, c control.Cluster, creds *control.Credentials, o options, dir, runID string, ops []history.Op, faults []history.Fault,
	deleted map[string]bool, w *workload.Workload, endNS int64) []checker.Result {
	var results []checker.Result
	logf("checking ciphertexts on every node")
	results = append(results, checker.Durable(ops, checker.DurableOptions{Nodes: c.Nodes(), Decrypt: w.DecryptFunc(ctx), Deleted: deleted}))

	logf("reading every node's audit log")
	actx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	_ = control.WaitAuditConverged(actx, c, creds) // a node that lags shows up as a violation
	var nodes []checker.NodeAudit
	for _, n := range c.Nodes() {
		na := checker.NodeAudit{Node: n}
		v, err := control.AuditVerify(actx, c, creds, n)
		body, err2 := control.AuditEvents(actx, c, creds, n)
		if err = errors.Join(err, err2); err == nil {
			na.Verified, na.Violation = v.OK, v.Violation
			if na.Events, err = checker.ParseAuditEvents(bytes.NewReader(body)); err == nil {
				err = os.WriteFile(filepath.Join(dir, "audit-"+n+".jsonl"), body, 0o644)
			}
			if vb, jerr := json.Marshal(v); err == nil && jerr == nil {
				err = os.WriteFile(filepath.Join(dir, "audit-verify-"+n+".json"), vb, 0o644)
			}
		}
		if err != nil {
			na.Err = err.Error()
		}
		nodes = append(nodes, na)
	}
	aopt := checker.AuditOptions{Run: runID, Nodes: nodes}
	results = append(results, checker.AuditComplete(ops, aopt))

	logf("checking linearizability (porcupine)")
	results = append(results, checker.Linearizable(ops, checker.LinearOptions{Timeout: o.linTimeout, AllowDeletion: o.dayLength != "", Dir: dir,
		Unapplied: checker.Unapplied(ops, aopt), Windows: checker.Windows(ops, aopt)}))
	results = append(results, checker.NoStaleCrypto(ops))
	results = append(results, checker.SealedSilent(ops, faults))
	results = append(results, checker.SealsAudited(faults, nodes))
	results = append(results, checker.Availability(ops, faults, checker.AvailOptions{EndNS: endNS}))
	return results
}

// caPool reads the cluster's CA certificate; nil for a plain HTTP API.
func caPool(path string) (*x509.CertPool, error) {
	if path == "" {
		return nil, nil
	}
	pem, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("%s holds no certificate", path)
	}
	return pool, nil
}

// snapshotCounts reads each node's log for what it did with snapshots.
func snapshotCounts(ctx context.Context, c control.Cluster) map[string]report.SnapshotCounts {
	out := map[string]report.SnapshotCounts{}
	for _, n := range c.Nodes() {
		lctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		log, err := c.Log(lctx, n)
		cancel()
		if err == nil {
			out[n] = report.CountSnapshots(log)
		}
	}
	return out
}

func countTaken(m map[string]report.SnapshotCounts) int {
	n := 0
	for _, c := range m {
		n += c.Taken
	}
	return n
}

// guards are Jepsen's validity checks of the run itself: a run that never
// reached its baseline, or whose faults did nothing, proves little.
func guards(ops []history.Op, faults []history.Fault, s nemesis.Schedule) []string {
	var out []string
	baseline := 0
	for _, op := range ops {
		if op.Status == history.OK && op.InvokeNS < int64(s.Quiet) {
			baseline++
		}
	}
	if baseline == 0 {
		out = append(out, "no op succeeded before the first fault: there is no baseline")
	}
	if len(faults) == 0 && len(s.Steps) > 0 {
		out = append(out, "no fault ran")
	}
	for _, f := range faults {
		if f.Error != "" {
			out = append(out, fmt.Sprintf("fault %s %s at %.1fs: %s", f.Kind, f.Target, float64(f.StartNS)/1e9, f.Error))
		}
		if f.Kind == nemesis.Kill && f.HitLeader() && f.NewLeader == f.Leader {
			// Possible (the restarted node may win again), but worth knowing.
			out = append(out, fmt.Sprintf("the leader %s was killed at %.1fs and leads again after the heal", f.Leader, float64(f.StartNS)/1e9))
		}
	}
	return out
}
