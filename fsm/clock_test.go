package fsm

import (
	"bytes"
	"io"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/keyraft/keyraft/fsm/fsmpb"
)

// TestLastTimestamp: the latest leader timestamp applied is kept, never
// goes back, ignores audit batches, and survives a snapshot round trip.
func TestLastTimestamp(t *testing.T) {
	f := newFSM(t)
	if f.LastTimestamp() != 0 {
		t.Fatalf("a fresh FSM knows a time: %d", f.LastTimestamp())
	}
	log := commandLog(t)
	applyAll(f, log, 1)
	var want int64
	for _, data := range log {
		cmd, err := DecodeCommand(data)
		if err != nil {
			t.Fatal(err)
		}
		if CommandType(cmd.Type) != CmdAuditBatch {
			want = max(want, cmd.Timestamp)
		}
	}
	if got := f.LastTimestamp(); got != want || got == 0 {
		t.Fatalf("LastTimestamp = %d, want %d", got, want)
	}
	older := encode(t, CmdCreateKey, &fsmpb.CreateKey{Key: testKey("older", want-int64(time.Hour))}, want-int64(time.Hour))
	applyAll(f, [][]byte{older}, uint64(len(log)+1))
	batch, err := NewAuditBatchCommand([][]byte{[]byte(`{"eventName":"Later"}`)}, time.Unix(0, want+int64(time.Hour)))
	if err != nil {
		t.Fatal(err)
	}
	f.ApplyBatch([]*raft.Log{{Index: uint64(len(log) + 2), Type: raft.LogCommand, Data: batch}})
	if got := f.LastTimestamp(); got != want {
		t.Fatalf("after an older command and a later audit batch LastTimestamp = %d, want %d", got, want)
	}
	r := newFSM(t)
	if err := r.Restore(io.NopCloser(bytes.NewReader(snapshotBytes(t, f)))); err != nil {
		t.Fatal(err)
	}
	if got := r.LastTimestamp(); got != want {
		t.Fatalf("restored LastTimestamp = %d, want %d", got, want)
	}
}
