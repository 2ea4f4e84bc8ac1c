package audit

import (
	"bytes"
	"path/filepath"
	"testing"
)

// BenchmarkAppendBatches is the store's own cost per event, without the
// FSM's decoding (fsm's BenchmarkAuditMemory measures both): runs of 8
// entries of 16 events of ~900 bytes, as a busy leader's group commit
// makes them.
func BenchmarkAppendBatches(b *testing.B) {
	s, err := Open(filepath.Join(b.TempDir(), "audit"))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ev := append([]byte(`{"eventName":"Encrypt","pad":"`), bytes.Repeat([]byte("x"), 860)...)
	ev = append(ev, `"}`...)
	events := make([][]byte, 16)
	for i := range events {
		events[i] = ev
	}
	b.SetBytes(int64(len(ev)))
	b.ResetTimer()
	var index uint64
	for done := 0; done < b.N; {
		run := make([]Batch, 0, 8)
		for len(run) < 8 && done < b.N {
			index++
			run = append(run, Batch{Index: index, Events: events})
			done += len(events)
		}
		if _, err := s.AppendBatches(run); err != nil {
			b.Fatal(err)
		}
	}
}
