package audit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
)

func openStore(t *testing.T) (*Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "audit")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	return s, path
}

func fill(t *testing.T, s *Store, n int) {
	t.Helper()
	for i := 0; i < n; i += 3 {
		var batch [][]byte
		for j := i; j < min(i+3, n); j++ {
			batch = append(batch, []byte(fmt.Sprintf(`{"eventName":"Encrypt","eventID":"e%d"}`, j+1)))
		}
		if _, err := s.Append(0, batch); err != nil {
			t.Fatal(err)
		}
	}
}

// TestVerifyGivesUp: a verify nobody waits for any more stops reading.
func TestVerifyGivesUp(t *testing.T) {
	s, _ := openStore(t)
	fill(t, s, 10)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if n, viol, err := s.VerifyContext(ctx); !errors.Is(err, context.Canceled) || viol != nil || n != 0 {
		t.Fatalf("verify with an ended context: %d %v %v", n, viol, err)
	}
}

func TestChainVerifies(t *testing.T) {
	s, path := openStore(t)
	fill(t, s, 10)
	if n, viol, err := s.Verify(); err != nil || viol != nil || n != 10 {
		t.Fatalf("verify: %d %v %v", n, viol, err)
	}
	seq, _ := s.Head()
	s.Close()
	// The head survives a reopen and appends continue the chain.
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if h, _ := s.Head(); h != seq {
		t.Fatalf("head %d after reopen, want %d", h, seq)
	}
	fill(t, s, 2)
	if n, viol, _ := s.Verify(); viol != nil || n != 12 {
		t.Fatalf("after reopen: %d %v", n, viol)
	}
}

func TestRecordJSON(t *testing.T) {
	s, _ := openStore(t)
	defer s.Close()
	fill(t, s, 1)
	var got map[string]any
	err := s.Export(Filter{}, 0, func(r Record) error { return json.Unmarshal(r.JSON(), &got) })
	if err != nil {
		t.Fatal(err)
	}
	if got["keyraftSequence"] != 1.0 || got["eventName"] != "Encrypt" || len(got["keyraftHash"].(string)) != 64 {
		t.Fatalf("record JSON: %v", got)
	}
}

func TestResponseElementsDropSecrets(t *testing.T) {
	r := ResponseElements(map[string]any{"KeyId": "arn", "Plaintext": []byte("dk"), "KeyMetadata": map[string]any{"AWSAccountId": "1"}})
	if _, ok := r["plaintext"]; ok || r["keyId"] != "arn" || r["keyMetadata"].(map[string]any)["awsAccountId"] != "1" {
		t.Fatalf("response elements: %v", r)
	}
}

// TestBatcherGroupsConcurrentEvents: concurrent commits share entries, and
// every committed event is in the store exactly once, in a verifying chain.
func TestBatcherGroupsConcurrentEvents(t *testing.T) {
	s, _ := openStore(t)
	defer s.Close()
	var mu sync.Mutex
	entries := 0
	b := &Batcher{Propose: func(ctx context.Context, events [][]byte) error {
		mu.Lock()
		entries++
		mu.Unlock()
		_, err := s.Append(0, events)
		return err
	}}
	const clients, each = 32, 50
	var wg sync.WaitGroup
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				if err := b.Commit(t.Context(), fmt.Sprint("client", c), []byte(fmt.Sprintf(`{"eventID":"%d-%d"}`, c, i))); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	n, viol, err := s.Verify()
	if err != nil || viol != nil || n != clients*each {
		t.Fatalf("verify: %d events, %v %v", n, viol, err)
	}
	seen := map[string]bool{}
	_ = s.Export(Filter{}, 0, func(r Record) error {
		if seen[string(r.Event)] {
			t.Fatalf("event %s twice", r.Event)
		}
		seen[string(r.Event)] = true
		return nil
	})
	t.Logf("%d events in %d entries", n, entries)
	if entries >= clients*each {
		t.Fatalf("no grouping: %d entries for %d events", entries, n)
	}
}

// TestReplayedBatchesSkipped: after a restart Raft replays its log; batches
// the store already holds are recognised by index and stored once.
func TestReplayedBatchesSkipped(t *testing.T) {
	s, path := openStore(t)
	for i := uint64(1); i <= 4; i++ {
		if _, err := s.Append(i*10, [][]byte{[]byte(fmt.Sprintf(`{"n":%d}`, i))}); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for i := uint64(1); i <= 5; i++ { // the replay, then one new batch
		first, err := s.Append(i*10, [][]byte{[]byte(fmt.Sprintf(`{"n":%d}`, i))})
		if err != nil {
			t.Fatal(err)
		}
		if (i <= 4) != (first == 0) {
			t.Fatalf("batch at index %d: first = %d", i*10, first)
		}
	}
	if n, viol, _ := s.Verify(); viol != nil || n != 5 {
		t.Fatalf("after replay: %d events, %v", n, viol)
	}
}

// TestTrimKeepsAVerifyingChain: retention drops the oldest events, anchors
// the chain at the newest dropped one, and records itself as an event.
func TestTrimKeepsAVerifyingChain(t *testing.T) {
	s, path := openStore(t)
	fill(t, s, 10)
	seq, err := s.Trim(0, 6, []byte(`{"eventName":"AuditTrim"}`))
	if err != nil || seq != 11 {
		t.Fatalf("trim: %d %v", seq, err)
	}
	if s.First() != 6 {
		t.Fatalf("first retained event %d, want 6", s.First())
	}
	if n, viol, err := s.Verify(); err != nil || viol != nil || n != 6 {
		t.Fatalf("after trim: %d events, %v %v", n, viol, err)
	}
	s.Close()
	// Removing the first retained event is still caught.
	tamper(t, path, func(fs []storedFrame) []storedFrame { return deleteSeq(fs, 6) })
	ro, err := OpenReadOnly(path)
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	if _, viol, _ := ro.Verify(); viol == nil || viol.Seq != 6 {
		t.Fatalf("removing the first retained event: %v", viol)
	}
}
