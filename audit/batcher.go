package audit

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/keyraft/keyraft/metrics"
)

// Batcher is the leader's group commit: it gathers the events of concurrent
// requests into one Raft entry, so auditing costs Raft round trips, not
// requests. While proposals are in flight, new events queue and leave
// together in the next entry; an idle leader proposes at once.
//
// Under load that alone halves the batches: the requests answered by one
// entry come back while the next is already on its way, so clients split
// between alternating entries and every Raft round (three nodes' fsyncs)
// is shared by half as many requests as are running. So once a proposal
// slot is free, a batch waits, at most MaxWait, for the requests the
// previous entry answered to come back: until it holds the events that
// were already waiting when that entry was applied plus as many as that
// entry held. A lone client's event always arrives after its previous
// entry, so its batch is complete at once and it never waits.
//
// How long to wait depends on who is calling. Callers that send their next
// request as soon as they have an answer (a closed loop: a worker pool, a
// load generator) come back within about a round, but on a busy machine
// often after MaxWait. Independent callers (an open loop) do not come back
// at all, and the batch would wait out any window for events that are not
// on their way. So the batcher notes, by origin (the client connection),
// which events come from callers that one of the last two entries
// answered and that came back within two rounds of that answer (a pool of
// connections reused by independent requests comes back later): while
// most do, a batch may wait up to as long as the last round took (at most
// MaxReturnWait) for the rest of them; otherwise MaxWait.
type Batcher struct {
	// Propose commits one batch of event JSON documents through Raft and
	// returns once the batch is applied (or fails).
	Propose func(ctx context.Context, events [][]byte) error
	// MaxEvents bounds one entry; MaxInFlight bounds concurrent proposals.
	MaxEvents   int
	MaxInFlight int
	// MaxWait bounds how long a batch waits for the company its
	// predecessors had (0: never waits); MaxReturnWait bounds the longer
	// wait while callers are returning (0: MaxWait).
	MaxWait       time.Duration
	MaxReturnWait time.Duration
	// Metrics records each batch's size and wait; nil records nothing.
	Metrics *metrics.Audit

	// last is the size of the previous batch; only loop uses it.
	last int
	// lastDone is when the latest proposal finished (UnixNano), and
	// lastRound how long it took.
	lastDone  atomic.Int64
	lastRound atomic.Int64
	// doneAt is when each of the last few batches was applied (UnixNano),
	// by batch number modulo its length.
	doneAt [4]atomic.Int64
	// batches numbers the batches; answered is the number of the batch
	// that last carried each origin's event, and returning the running
	// share of events from callers coming back (see above). Only loop
	// uses them.
	batches   uint64
	answered  map[string]uint64
	returning float64

	once sync.Once
	ch   chan *pending
	sem  chan struct{}
}

type pending struct {
	event   []byte
	origin  string // the caller's connection; "" when unknown
	arrived int64  // UnixNano
	done    chan error
}

func (b *Batcher) start() {
	if b.MaxEvents <= 0 {
		b.MaxEvents = 1024
	}
	if b.MaxInFlight <= 0 {
		b.MaxInFlight = 4
	}
	b.ch = make(chan *pending, 4*b.MaxEvents)
	b.sem = make(chan struct{}, b.MaxInFlight)
	go b.loop()
}

// Commit submits one event from origin (the caller's connection, such as
// its address and port; "" when unknown) and waits until it is committed
// and applied, or ctx ends (ErrNotCommitted: the event may still commit
// later, but the request gets no success answer).
func (b *Batcher) Commit(ctx context.Context, origin string, event []byte) error {
	b.once.Do(b.start)
	p := &pending{event: event, origin: origin, arrived: time.Now().UnixNano(), done: make(chan error, 1)}
	select {
	case b.ch <- p:
	case <-ctx.Done():
		return ErrNotCommitted
	}
	select {
	case err := <-p.done:
		return err
	case <-ctx.Done():
		return ErrNotCommitted
	}
}

func (b *Batcher) loop() {
	for first := range b.ch {
		// Wait for a proposal slot first: events keep queueing meanwhile,
		// which is what makes batches grow under load.
		b.sem <- struct{}{}
		batch := []*pending{first}
	drain:
		for len(batch) < b.MaxEvents {
			select {
			case p := <-b.ch:
				batch = append(batch, p)
			default:
				break drain
			}
		}
		done, early := b.lastDone.Load(), 0
		for _, p := range batch {
			if p.arrived < done {
				early++
			}
		}
		batch = b.linger(batch, min(early+b.last, b.MaxEvents), b.wait())
		b.last = len(batch)
		// The first event is the oldest: the channel is FIFO.
		b.Metrics.Batch(len(batch), time.Duration(time.Now().UnixNano()-batch[0].arrived))
		go b.propose(b.noteOrigins(batch), batch)
	}
}

// wait is how long the next batch may wait for company.
func (b *Batcher) wait() time.Duration {
	if b.returning < 0.5 || b.MaxReturnWait <= b.MaxWait {
		return b.MaxWait
	}
	return max(b.MaxWait, min(b.MaxReturnWait, time.Duration(b.lastRound.Load())))
}

// noteOrigins numbers batch and updates the share of returning callers
// with it.
func (b *Batcher) noteOrigins(batch []*pending) uint64 {
	b.batches++
	if b.MaxReturnWait <= b.MaxWait {
		return b.batches // wait never uses the share: keep no per-origin state
	}
	if b.answered == nil {
		b.answered = map[string]uint64{}
	}
	within := 2 * b.lastRound.Load()
	returned := 0
	for _, p := range batch {
		if p.origin == "" {
			continue
		}
		if n, ok := b.answered[p.origin]; ok && n+2 >= b.batches {
			if done := b.doneAt[n%uint64(len(b.doneAt))].Load(); done != 0 && p.arrived >= done && p.arrived-done <= within {
				returned++
			}
		}
		b.answered[p.origin] = b.batches
	}
	b.returning = 0.75*b.returning + 0.25*float64(returned)/float64(len(batch))
	if b.batches%64 == 0 {
		for o, n := range b.answered {
			if n+2 < b.batches {
				delete(b.answered, o)
			}
		}
	}
	return b.batches
}

// linger holds the batch until it holds want events or wait passes.
func (b *Batcher) linger(batch []*pending, want int, wait time.Duration) []*pending {
	if wait <= 0 || len(batch) >= want {
		return batch
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	for len(batch) < want {
		select {
		case p := <-b.ch:
			batch = append(batch, p)
		case <-t.C:
			return batch
		}
	}
	return batch
}

func (b *Batcher) propose(n uint64, batch []*pending) {
	defer func() { <-b.sem }()
	// Events of requests whose client gave up are still logged: the request
	// may have changed state, and an event for an answer never delivered is
	// harmless where a missing one is not.
	events := make([][]byte, len(batch))
	for i, p := range batch {
		events[i] = p.event
	}
	start := time.Now()
	err := b.Propose(context.Background(), events)
	if err != nil {
		err = errors.Join(ErrNotCommitted, err)
	}
	done := time.Now()
	b.lastRound.Store(int64(done.Sub(start)))
	b.lastDone.Store(done.UnixNano())
	b.doneAt[n%uint64(len(b.doneAt))].Store(done.UnixNano())
	for _, p := range batch {
		p.done <- err
	}
}
