package operator

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/keyraft/keyraft/gateway"
	"github.com/keyraft/keyraft/seal"
)

// Unseal needs no principal (a share is its own proof), so anyone who
// reaches the API may try shares. A share cannot be guessed, but each try
// costs a Shamir combine and, failed, used to cost a replicated audit event:
// so tries are rate-limited per source address, and failures are counted
// and summarised rather than recorded one by one.

// Unseal attempts a source may make: a burst for a ceremony (a few shares,
// a retry or two), then a few a second.
const (
	unsealBurst      = 10
	unsealPerSecond  = 3
	maxUnsealSources = 4096
)

// unsealLimiter is a token bucket per source address.
type unsealLimiter struct {
	mu      sync.Mutex
	buckets map[string]*bucket // guarded by mu
}

type bucket struct {
	tokens float64
	at     time.Time
}

// allow takes a token for source, reporting false (and how long until the
// next token) when it has none. When maxUnsealSources sources hold
// partly spent buckets at once, new sources are refused until some refill:
// the table cannot grow without bound.
func (l *unsealLimiter) allow(source string, now time.Time) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.buckets == nil {
		l.buckets = map[string]*bucket{}
	}
	b, ok := l.buckets[source]
	if !ok {
		if len(l.buckets) >= maxUnsealSources {
			l.sweep(now)
		}
		if len(l.buckets) >= maxUnsealSources {
			return false, time.Second
		}
		b = &bucket{tokens: unsealBurst, at: now}
		l.buckets[source] = b
	}
	b.tokens = min(unsealBurst, b.tokens+now.Sub(b.at).Seconds()*unsealPerSecond)
	b.at = now
	if b.tokens < 1 {
		return false, time.Duration((1 - b.tokens) / unsealPerSecond * float64(time.Second))
	}
	b.tokens--
	return true, 0
}

// sweep forgets the sources whose buckets have refilled: they are as new.
func (l *unsealLimiter) sweep(now time.Time) {
	for src, b := range l.buckets {
		if b.tokens+now.Sub(b.at).Seconds()*unsealPerSecond >= unsealBurst {
			delete(l.buckets, src)
		}
	}
}

// unsealFailures counts failed unseal attempts per source between
// summaries, which are due at most once per period.
type unsealFailures struct {
	period time.Duration

	mu     sync.Mutex
	counts map[string]int // guarded by mu
	last   time.Time      // of the last summary; guarded by mu
}

// Count records one failed attempt from source. It returns the counts to
// summarise now when no summary was due for a period (the first failure
// after a quiet period is reported at once), else nil.
func (f *unsealFailures) Count(source string, now time.Time) map[string]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.counts == nil {
		f.counts = map[string]int{}
	}
	if _, ok := f.counts[source]; ok || len(f.counts) < maxUnsealSources {
		f.counts[source]++
	} else {
		f.counts["other"]++
	}
	return f.dueLocked(now)
}

// Due returns the counts to summarise when a period has passed since the
// last summary, else nil.
func (f *unsealFailures) Due(now time.Time) map[string]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.dueLocked(now)
}

func (f *unsealFailures) dueLocked(now time.Time) map[string]int {
	if len(f.counts) == 0 || now.Sub(f.last) < f.period {
		return nil
	}
	out := f.counts
	f.counts, f.last = nil, now
	return out
}

// unsealSummaryPeriod is the most often failed unseal attempts are summarised.
const unsealSummaryPeriod = time.Minute

// admitUnseal takes a token for the request's source, or answers 429.
func (a *API) admitUnseal(w http.ResponseWriter, r *http.Request) bool {
	ok, wait := a.unsealLimit.allow(gateway.SourceIP(r), time.Now())
	if ok {
		return true
	}
	a.unsealFailed(r)
	secs := int(wait/time.Second) + 1
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	writeErr(w, http.StatusTooManyRequests, fmt.Sprintf("unseal: too many attempts from %s; retry in %d s", gateway.SourceIP(r), secs))
	return false
}

// isShareFailure reports whether an unseal failed for its share: a wrong
// or malformed share, not a node that is not ready.
func isShareFailure(err error) bool {
	return errors.Is(err, seal.ErrWrongShares) || errors.Is(err, seal.ErrInvalidShare)
}

// unsealFailed counts a failed (or refused) unseal attempt of r's source.
func (a *API) unsealFailed(r *http.Request) {
	a.summariseUnsealFailures(a.unsealFails.Count(gateway.SourceIP(r), time.Now()))
}

// summariseUnsealFailures logs counts of failed unseal attempts by source
// and records them as one audit event.
func (a *API) summariseUnsealFailures(counts map[string]int) {
	if len(counts) == 0 {
		return
	}
	total := 0
	for _, n := range counts {
		total += n
	}
	a.Log.Warn("failed unseal attempts", "attempts", total, "by_source", counts)
	a.auditAsync(nil, "", "OperatorUnsealFailures", map[string]any{"failedAttempts": counts, "period": unsealSummaryPeriod.String()},
		fmt.Errorf("%d failed unseal attempts", total))
}

// watchUnsealFailures summarises the failures counted since the last
// summary once a period allows it.
func (a *API) watchUnsealFailures() {
	t := time.NewTicker(unsealSummaryPeriod / 6)
	defer t.Stop()
	for {
		select {
		case <-a.stop:
			return
		case now := <-t.C:
			a.summariseUnsealFailures(a.unsealFails.Due(now))
		}
	}
}
