// Package workload holds the clients: concurrent workers that drive the
// cluster through the real aws-sdk-go-v2 KMS client, each op sent to a
// random node and recorded (invocation, completion, outcome) in the
// history; and the final phase that reads every key back once faults stop.
package workload

import (
	"context"
	"crypto/x509"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/keyraft/keyraft/jepsen/history"
)

// Config is what the clients need.
type Config struct {
	// Endpoints maps node id to its API URL.
	Endpoints map[string]string
	// Roots verify the API's HTTPS certificates (nil: system roots).
	Roots     *x509.CertPool
	Region    string
	AccessKey string
	SecretKey string
	// Run is this run's token prefix (alphanumeric), in every op's User-Agent.
	Run string
	// Clients is the number of concurrent workers (processes, in Jepsen's
	// terms): enough that ops stuck on a paused node until OpTimeout do not
	// use them all up at Rate. 0: Rate × OpTimeout × 1.25.
	Clients int
	// Rate is the target ops/s of all workers together.
	Rate float64
	// Groups is the number of key groups (linearizability partitions) in
	// use at any time. A group is short-lived: it retires after GroupLife,
	// or once Indeterminate of its writes ended without an answer, and a
	// fresh group (new keys, new alias) takes its slot, so that each of
	// porcupine's partitions stays small (see DESIGN.md).
	Groups int
	// GroupLife is how long a group takes new ops.
	GroupLife time.Duration
	// Indeterminate caps the writes of one group that end without an
	// answer: a write starts only while the group's indeterminate writes
	// plus its writes in flight are fewer (otherwise the worker reads
	// instead). Porcupine may linearize such a write anywhere after its
	// call, or never, and its search grows exponentially with their number.
	Indeterminate int
	// MaxKeys caps the keys CreateKey makes per group.
	MaxKeys int
	// OpTimeout is how long a client waits for an answer before it records
	// the op as indeterminate.
	OpTimeout time.Duration
	Seed      int64
	Recorder  *history.Recorder
}

// Workload is the shared client state: which keys each group has, and
// recent ciphertexts to decrypt.
type Workload struct {
	cfg     Config
	nodes   []string
	clients map[string]*kms.Client
	process atomic.Int64

	mu sync.Mutex // guards the groups and their contents against every worker
	// groups is every group made so far, in order; active are the ones new
	// ops go to (cfg.Groups of them), byName finds any.
	groups []*group
	active []*group
	byName map[string]*group
}

type group struct {
	name  string
	alias string
	born  time.Time
	// keys the workload draws from: what CreateKey returned, less keys
	// found deleted; created is every key CreateKey returned.
	keys, created []string
	// aliasExists: a CreateAlias succeeded or reported AlreadyExists;
	// aliasing: a worker is creating it.
	aliasExists, aliasing bool
	// cts are recent acknowledged ciphertexts (a ring) for Decrypt.
	cts []sealed

	// ops counts the ops started in the group; creating its CreateKey
	// calls in flight; writing its writes in flight (started by step);
	// indeterminate its writes that ended without an answer.
	ops, creating, writing, indeterminate int
	retired                               bool
}

type sealed struct {
	op      int64
	key     string
	blob    []byte
	context map[string]string
}

const recentCiphertexts = 64

// New makes one SDK client per node and the groups' names.
func New(cfg Config) *Workload {
	if cfg.Groups == 0 {
		cfg.Groups = 6
	}
	if cfg.MaxKeys == 0 {
		cfg.MaxKeys = 5
	}
	if cfg.OpTimeout == 0 {
		cfg.OpTimeout = 5 * time.Second
	}
	if cfg.Rate == 0 {
		cfg.Rate = 60
	}
	if cfg.Clients == 0 {
		// While the leader is paused or cut off every op waits out
		// OpTimeout; fewer workers than Rate × OpTimeout would all be
		// waiting, no op would be sent, and the run could not see the
		// cluster recover until the first timeouts.
		cfg.Clients = max(16, int(math.Ceil(cfg.Rate*cfg.OpTimeout.Seconds()*1.25)))
	}
	if cfg.GroupLife == 0 {
		cfg.GroupLife = 20 * time.Second
	}
	if cfg.Indeterminate == 0 {
		cfg.Indeterminate = 8
	}
	w := &Workload{cfg: cfg, clients: map[string]*kms.Client{}, byName: map[string]*group{}}
	for n, ep := range cfg.Endpoints {
		w.nodes = append(w.nodes, n)
		w.clients[n] = newClient(ep, cfg.Region, cfg.AccessKey, cfg.SecretKey, cfg.Roots)
	}
	slices.Sort(w.nodes)
	now := time.Now()
	for range cfg.Groups {
		w.active = append(w.active, w.newGroup(now))
	}
	return w
}

// newGroup makes the next group, with its own alias name. w.mu is held (or
// the workload is not running yet).
func (w *Workload) newGroup(now time.Time) *group {
	name := fmt.Sprintf("g%d", len(w.groups)+1)
	g := &group{name: name, alias: fmt.Sprintf("alias/jepsen-%s-%s", w.cfg.Run, name), born: now}
	w.groups = append(w.groups, g)
	w.byName[name] = g
	return g
}

// expired reports whether g should take no new ops: it has lived its
// GroupLife, or its budget of indeterminate writes is spent.
func (w *Workload) expired(g *group, now time.Time) bool {
	return now.Sub(g.born) >= w.cfg.GroupLife || g.indeterminate >= w.cfg.Indeterminate
}

// Clients is the number of workers.
func (w *Workload) Clients() int { return w.cfg.Clients }

// Groups is the number of groups made so far.
func (w *Workload) Groups() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.groups)
}

// Setup gives every active group two keys and its alias, retrying until
// each succeeds (every attempt is recorded like any other op).
func (w *Workload) Setup(ctx context.Context) error {
	c := w.newClientState(rand.New(rand.NewPCG(uint64(w.cfg.Seed), 1)))
	for _, g := range w.active {
		for len(g.keys) < 2 {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			c.createKey(ctx, g)
		}
		for !g.aliasExists {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			c.alias(ctx, g, g.keys[0])
		}
	}
	// Their lives start with the workload.
	now := time.Now()
	w.mu.Lock()
	for _, g := range w.active {
		g.born = now
	}
	w.mu.Unlock()
	return nil
}

// Run drives the cluster until ctx ends. A dispatcher hands out ops at
// cfg.Rate to a pool of cfg.Clients workers; a tick that finds every worker
// busy is dropped. Open loop, so that workers stuck on a paused node until
// their timeout do not stop the rest from probing the cluster.
func (w *Workload) Run(ctx context.Context) (dropped int) {
	ticks := make(chan struct{})
	var wg sync.WaitGroup
	for i := range w.cfg.Clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := w.newClientState(rand.New(rand.NewPCG(uint64(w.cfg.Seed), uint64(i)+100)))
			for range ticks {
				c.step(ctx)
			}
		}()
	}
	r := rand.New(rand.NewPCG(uint64(w.cfg.Seed), 3))
	interval := float64(time.Second) / w.cfg.Rate
	next := time.Now()
	for ctx.Err() == nil {
		select {
		case ticks <- struct{}{}:
		default:
			dropped++
		}
		// Jitter, so ops do not arrive in lockstep with anything.
		next = next.Add(time.Duration(interval * (0.5 + r.Float64())))
		select {
		case <-ctx.Done():
		case <-time.After(time.Until(next)):
		}
	}
	close(ticks)
	wg.Wait()
	return dropped
}

// Keys lists every key the workload created, with its group.
func (w *Workload) Keys() map[string]string {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := map[string]string{}
	for _, g := range w.groups {
		for _, k := range g.created {
			out[k] = g.name
		}
	}
	return out
}
