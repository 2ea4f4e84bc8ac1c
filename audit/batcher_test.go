package audit

import (
	"context"
	"sync"
	"testing"
	"time"
)

// entryLog is a Propose that takes a fixed time per round, like a Raft round
// of fsyncs, and remembers each entry's size.
type entryLog struct {
	round time.Duration
	mu    sync.Mutex
	sizes []int
}

func (l *entryLog) propose(ctx context.Context, events [][]byte) error {
	time.Sleep(l.round)
	l.mu.Lock()
	l.sizes = append(l.sizes, len(events))
	l.mu.Unlock()
	return nil
}

// TestBatcherLoneClientNeverWaits: a client alone is never held back for
// company, however long MaxWait is.
func TestBatcherLoneClientNeverWaits(t *testing.T) {
	l := &entryLog{}
	b := &Batcher{Propose: l.propose, MaxInFlight: 1, MaxWait: time.Hour}
	for range 20 {
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		err := b.Commit(ctx, []byte(`{}`))
		cancel()
		if err != nil {
			t.Fatalf("a lone client's commit was held back: %v", err)
		}
	}
	if len(l.sizes) != 20 {
		t.Fatalf("%d entries for 20 sequential events", len(l.sizes))
	}
}

// TestBatcherWaitsForReturningRequests: closed-loop clients that come back
// a little after their answer share one entry instead of splitting between
// two alternating ones (what happens with MaxWait 0).
func TestBatcherWaitsForReturningRequests(t *testing.T) {
	const clients, rounds = 8, 30
	run := func(maxWait time.Duration) float64 {
		l := &entryLog{round: 2 * time.Millisecond}
		b := &Batcher{Propose: l.propose, MaxInFlight: 1, MaxWait: maxWait}
		var wg sync.WaitGroup
		for range clients {
			wg.Go(func() {
				for range rounds {
					if err := b.Commit(t.Context(), []byte(`{}`)); err != nil {
						t.Error(err)
						return
					}
					time.Sleep(300 * time.Microsecond) // the client's own work
				}
			})
		}
		wg.Wait()
		l.mu.Lock()
		defer l.mu.Unlock()
		tail := l.sizes[len(l.sizes)/2:] // past the start, where clients drift apart
		sum := 0
		for _, n := range tail {
			sum += n
		}
		return float64(sum) / float64(len(tail))
	}
	with, without := run(200*time.Millisecond), run(0)
	t.Logf("mean events per entry: %.1f with waiting, %.1f without", with, without)
	if with < clients-1 {
		t.Fatalf("with MaxWait, entries held %.1f events on average, want about %d", with, clients)
	}
}
