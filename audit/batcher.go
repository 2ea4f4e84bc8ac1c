package audit

import (
	"context"
	"errors"
	"sync"
)

// Batcher is the leader's group commit: it gathers the events of concurrent
// requests into one Raft entry, so auditing costs Raft round trips, not
// requests. While proposals are in flight, new events queue and leave
// together in the next entry; an idle leader proposes at once.
type Batcher struct {
	// Propose commits one batch of event JSON documents through Raft and
	// returns once the batch is applied (or fails).
	Propose func(ctx context.Context, events [][]byte) error
	// MaxEvents bounds one entry; MaxInFlight bounds concurrent proposals.
	MaxEvents   int
	MaxInFlight int

	once sync.Once
	ch   chan *pending
	sem  chan struct{}
}

type pending struct {
	event []byte
	done  chan error
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
	p := &pending{event: event, done: make(chan error, 1)}
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
		go b.propose(batch)
	}
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
	for _, p := range batch {
		p.done <- err
	}
}
