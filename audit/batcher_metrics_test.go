package audit

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/keyraft/keyraft/metrics"
)

// TestBatcherMetrics: each batch proposed is recorded once, with its
// number of events; the events of all batches add up to those committed.
func TestBatcherMetrics(t *testing.T) {
	m := metrics.New()
	l := &entryLog{round: time.Millisecond}
	b := &Batcher{Propose: l.propose, MaxInFlight: 1, Metrics: m.Audit}
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()
			if err := b.Commit(ctx, string(rune('a'+i)), []byte(`{}`)); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	l.mu.Lock()
	batches := len(l.sizes)
	l.mu.Unlock()
	if got := m.Sample("keyraft_audit_batch_events", nil); got != float64(batches) {
		t.Fatalf("%v batches recorded, %d proposed", got, batches)
	}
	if got := m.Sample("keyraft_audit_batch_wait_seconds", nil); got != float64(batches) {
		t.Fatalf("%v waits recorded, %d batches", got, batches)
	}
	fams, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if f.GetName() == "keyraft_audit_batch_events" {
			if sum := f.GetMetric()[0].GetHistogram().GetSampleSum(); sum != 20 {
				t.Fatalf("the batches held %v events, want 20", sum)
			}
			return
		}
	}
	t.Fatal("no keyraft_audit_batch_events")
}

// TestStoreBytes: Bytes is what the store's segments hold, growing with
// every append.
func TestStoreBytes(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.Bytes() != 0 {
		t.Fatalf("an empty store holds %d bytes", s.Bytes())
	}
	if _, err := s.Append(1, [][]byte{[]byte(`{"eventName":"Encrypt"}`)}); err != nil {
		t.Fatal(err)
	}
	one := s.Bytes()
	if one <= int64(len(`{"eventName":"Encrypt"}`)) {
		t.Fatalf("one event: %d bytes", one)
	}
	if _, err := s.Append(2, [][]byte{[]byte(`{"eventName":"Decrypt"}`)}); err != nil {
		t.Fatal(err)
	}
	if s.Bytes() <= one {
		t.Fatalf("two events: %d bytes, one: %d", s.Bytes(), one)
	}
}
