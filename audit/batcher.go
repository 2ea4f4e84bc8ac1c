package audit

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"
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
type Batcher struct {
	// Propose commits one batch of event JSON documents through Raft and
	// returns once the batch is applied (or fails).
	Propose func(ctx context.Context, events [][]byte) error
	// MaxEvents bounds one entry; MaxInFlight bounds concurrent proposals.
	MaxEvents   int
	MaxInFlight int
	// MaxWait bounds how long a batch waits for the company its
	// predecessors had (0: never waits).
	MaxWait time.Duration

	// last is the size of the previous batch; only loop uses it.
	last int
	// lastDone is when the latest proposal finished (UnixNano).
	lastDone atomic.Int64

	once sync.Once
	ch   chan *pending
	sem  chan struct{}
}

type pending struct {
	event   []byte
	arrived int64 // UnixNano
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

// Commit submits one event and waits until it is committed and applied, or
// ctx ends (ErrNotCommitted: the event may still commit later, but the
// request gets no success answer).
func (b *Batcher) Commit(ctx context.Context, event []byte) error {
	b.once.Do(b.start)
	p := &pending{event: event, arrived: time.Now().UnixNano(), done: make(chan error, 1)}
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
		batch = b.linger(batch, min(early+b.last, b.MaxEvents))
		b.last = len(batch)
		go b.propose(batch)
	}
}

// linger holds the batch until it holds want events or MaxWait passes.
func (b *Batcher) linger(batch []*pending, want int) []*pending {
	if b.MaxWait <= 0 || len(batch) >= want {
		return batch
	}
	t := time.NewTimer(b.MaxWait)
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

func (b *Batcher) propose(batch []*pending) {
	defer func() { <-b.sem }()
	// Events of requests whose client gave up are still logged: the request
	// may have changed state, and an event for an answer never delivered is
	// harmless where a missing one is not.
	events := make([][]byte, len(batch))
	for i, p := range batch {
		events[i] = p.event
	}
	err := b.Propose(context.Background(), events)
	if err != nil {
		err = errors.Join(ErrNotCommitted, err)
	}
	b.lastDone.Store(time.Now().UnixNano())
	for _, p := range batch {
		p.done <- err
	}
}
