package bench

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/kms"
)

// Run creates the keys cfg asks for, drives the endpoints with cfg.Clients
// workers (closed-loop, or open-loop at cfg.Rate) for cfg.Warmup and then
// cfg.Duration, and returns what
// the timed phase measured. If ctx ends during the timed phase, Run returns
// the result of the shortened phase together with ctx's error.
func Run(ctx context.Context, cfg Config) (Result, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return Result{}, fmt.Errorf("bench: %w", err)
	}
	if _, err := cpuEach(cfg.ServerPIDs); err != nil {
		return Result{}, fmt.Errorf("bench: server pids: %w", err)
	}
	var (
		clients  []*kms.Client
		transits []*transitClient
		tr       *http.Transport
		fx       *fixture
		err      error
	)
	if cfg.Target == TargetOpenBao {
		transits, tr = newTransitClients(cfg)
		defer tr.CloseIdleConnections()
		fx, err = prepareTransit(ctx, transits[0], cfg)
	} else {
		clients, tr = newClients(cfg)
		defer tr.CloseIdleConnections()
		fx, err = prepare(ctx, clients[0], cfg)
	}
	if err != nil {
		return Result{}, fmt.Errorf("bench: prepare: %w", err)
	}

	var phase atomic.Int32
	errs := &errorLog{}
	workers := make([]*worker, cfg.Clients)
	now := time.Now()
	for i := range workers {
		workers[i] = &worker{id: i, op: cfg.Op, fx: fx, phase: &phase, errs: errs}
		if transits != nil {
			workers[i].transit = transits[i%len(transits)]
		} else {
			workers[i].client = clients[i%len(clients)]
		}
		if cfg.Rate > 0 {
			// Worker i sends the (k*Clients+i)-th request of the whole
			// schedule: together, one every 1/Rate.
			workers[i].period = time.Duration(float64(cfg.Clients) / cfg.Rate * float64(time.Second))
			workers[i].first = now.Add(time.Duration(float64(i) / cfg.Rate * float64(time.Second)))
		}
	}
	wctx, stopWorkers := context.WithCancel(ctx)
	defer stopWorkers()
	var wg sync.WaitGroup
	for _, w := range workers {
		wg.Go(func() { w.run(wctx) })
	}
	var timedStart atomic.Int64
	stopProgress := make(chan struct{})
	var pwg sync.WaitGroup
	if cfg.Progress != nil {
		pwg.Go(func() { reportProgress(cfg.Progress, workers, &phase, &timedStart, cfg.Duration, stopProgress) })
	}
	finish := func() {
		phase.Store(phaseDone)
		stopWorkers()
		wg.Wait()
		close(stopProgress)
		pwg.Wait()
	}

	if !sleep(ctx, cfg.Warmup) {
		finish()
		return Result{}, fmt.Errorf("bench: interrupted during warm-up: %w", context.Cause(ctx))
	}
	srv0, srvErr := cpuEach(cfg.ServerPIDs)
	self0, selfErr := procCPU(0)
	t0 := time.Now()
	timedStart.Store(t0.UnixNano())
	phase.Store(phaseTimed)
	completed := sleep(ctx, cfg.Duration)
	phase.Store(phaseDone)
	elapsed := time.Since(t0)
	srv1, srvErr1 := cpuEach(cfg.ServerPIDs)
	self1, selfErr1 := procCPU(0)
	finish()

	res := summarize(cfg, workers, elapsed)
	res.KeySpec = string(fx.plan.spec)
	res.ErrorSamples = errs.snapshot()
	if selfErr == nil && selfErr1 == nil {
		res.ClientCPUMeasured = true
		res.ClientCPUPerOp = perOp(self1-self0, res.Ops)
	}
	if srvErr == nil {
		srvErr = srvErr1
	}
	if len(cfg.ServerPIDs) > 0 && srvErr == nil {
		res.ServerCPUMeasured = true
		res.ServerCPUPerOpEach = make([]time.Duration, len(srv0))
		var total time.Duration
		for i := range srv0 {
			total += srv1[i] - srv0[i]
			res.ServerCPUPerOpEach[i] = perOp(srv1[i]-srv0[i], res.Ops)
		}
		res.ServerCPUPerOp = perOp(total, res.Ops)
	}
	switch {
	case !completed:
		return res, fmt.Errorf("bench: interrupted after %s of the timed phase: %w", elapsed.Round(time.Millisecond), context.Cause(ctx))
	case len(cfg.ServerPIDs) > 0 && srvErr != nil:
		return res, fmt.Errorf("bench: server CPU: %w", srvErr)
	}
	return res, nil
}

// summarize merges the workers' counts and histograms.
func summarize(cfg Config, workers []*worker, elapsed time.Duration) Result {
	var h histogram
	res := Result{Target: cfg.Target, Op: cfg.Op, Clients: cfg.Clients, Rate: cfg.Rate, Size: cfg.Size, Keys: cfg.Keys, Endpoints: cfg.Endpoints,
		ServerPIDs: cfg.ServerPIDs, Duration: elapsed}
	for _, w := range workers {
		h.merge(&w.hist)
		res.Ops += w.ok
		res.Errors += w.errors
	}
	if elapsed > 0 {
		res.OpsPerSec = float64(res.Ops) / elapsed.Seconds()
	}
	res.P50, res.P99, res.P999 = h.quantileDuration(0.5), h.quantileDuration(0.99), h.quantileDuration(0.999)
	res.Max = time.Duration(h.max)
	return res
}

func perOp(total time.Duration, ops uint64) time.Duration {
	if ops == 0 {
		return 0
	}
	return total / time.Duration(ops)
}

// sleep waits d or until ctx ends; it reports whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
