package audit

import (
	"context"
	"fmt"
	"math/rand/v2"
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
		err := b.Commit(ctx, "lone", []byte(`{}`))
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
		for i := range clients {
			wg.Go(func() {
				for range rounds {
					if err := b.Commit(t.Context(), fmt.Sprint("client", i), []byte(`{}`)); err != nil {
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

// closedLoop runs clients that each commit rounds events one after the
// other as origin(i), pausing between them for think plus up to jitter
// (so that they do not fall into step), and returns the mean entry size
// past the start.
func closedLoop(t *testing.T, b *Batcher, l *entryLog, clients, rounds int, think, jitter time.Duration, origin func(int) string) float64 {
	t.Helper()
	var wg sync.WaitGroup
	for i := range clients {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(i), 1))
			for range rounds {
				if err := b.Commit(t.Context(), origin(i), []byte(`{}`)); err != nil {
					t.Error(err)
					return
				}
				time.Sleep(think + time.Duration(rng.Int64N(int64(jitter))))
			}
		})
	}
	wg.Wait()
	l.mu.Lock()
	defer l.mu.Unlock()
	tail := l.sizes[len(l.sizes)/2:]
	sum := 0
	for _, n := range tail {
		sum += n
	}
	return float64(sum) / float64(len(tail))
}

// TestBatcherWaitsLongerForReturningCallers: callers that come back after
// MaxWait but within a round (a busy machine's closed loop) still share
// one entry once the batcher sees, by their origins, that they return;
// callers it cannot tell apart are not waited for past MaxWait.
func TestBatcherWaitsLongerForReturningCallers(t *testing.T) {
	const clients, rounds = 8, 40
	run := func(origin func(int) string) (float64, float64) {
		l := &entryLog{round: 4 * time.Millisecond}
		b := &Batcher{Propose: l.propose, MaxInFlight: 1, MaxWait: 200 * time.Microsecond, MaxReturnWait: time.Hour}
		mean := closedLoop(t, b, l, clients, rounds, time.Millisecond, 1500*time.Microsecond, origin)
		return mean, b.returning
	}
	known, share := run(func(i int) string { return fmt.Sprint("client", i) })
	unknown, _ := run(func(int) string { return "" })
	t.Logf("mean events per entry: %.1f with origins (returning share %.2f), %.1f without", known, share, unknown)
	if share < 0.9 || known < clients-1 {
		t.Fatalf("closed-loop callers: returning share %.2f, %.1f events per entry; want them seen as returning and sharing entries", share, known)
	}
	if unknown > clients-2 {
		t.Fatalf("callers without origins shared entries of %.1f events: the batcher waited past MaxWait for them", unknown)
	}
}

// TestBatcherOpenLoopKeepsShortWait: events from callers that do not come
// back (each from a new origin) never earn the longer wait, however long
// MaxReturnWait is.
func TestBatcherOpenLoopKeepsShortWait(t *testing.T) {
	l := &entryLog{round: time.Millisecond}
	b := &Batcher{Propose: l.propose, MaxInFlight: 1, MaxWait: 200 * time.Microsecond, MaxReturnWait: time.Hour}
	var wg sync.WaitGroup
	for i := range 200 {
		wg.Go(func() {
			if err := b.Commit(t.Context(), fmt.Sprint("caller", i), []byte(`{}`)); err != nil {
				t.Error(err)
			}
		})
		time.Sleep(250 * time.Microsecond)
	}
	wg.Wait()
	if b.returning >= 0.5 || b.wait() != b.MaxWait {
		t.Fatalf("open loop: returning share %.2f, wait %v; want the short wait %v", b.returning, b.wait(), b.MaxWait)
	}
}

// TestBatcherPooledCallersKeepShortWait: independent requests that reuse a
// few connections (a client's pool) come from known origins, but later
// than two rounds after their answers: they are not waited for either.
func TestBatcherPooledCallersKeepShortWait(t *testing.T) {
	const conns = 2 // each answered by one of the two entries before its next event
	l := &entryLog{round: time.Millisecond}
	b := &Batcher{Propose: l.propose, MaxInFlight: 1, MaxWait: 200 * time.Microsecond, MaxReturnWait: time.Hour}
	var wg sync.WaitGroup
	for i := range conns {
		wg.Go(func() {
			for range 40 {
				if err := b.Commit(t.Context(), fmt.Sprint("conn", i), []byte(`{}`)); err != nil {
					t.Error(err)
					return
				}
				time.Sleep(5 * time.Millisecond) // the next request comes when the application has one
			}
		})
	}
	wg.Wait()
	if b.returning >= 0.5 || b.wait() != b.MaxWait {
		t.Fatalf("pooled callers: returning share %.2f, wait %v; want the short wait %v", b.returning, b.wait(), b.MaxWait)
	}
}
