package audit

import (
	"bytes"
	"fmt"
	"io"
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

// BenchmarkRestore is what a node installing a snapshot spends on the audit
// log: 64 MiB of ~900-byte events in 16 MiB segments, streamed from memory
// into a fresh store and checked (frames, sequence, chain) before it is
// taken. The segments are synced and dropped from the page cache, so any
// check that reads them back pays for real reads.
func BenchmarkRestore(b *testing.B) {
	src, err := Open(filepath.Join(b.TempDir(), "src"))
	if err != nil {
		b.Fatal(err)
	}
	defer src.Close()
	src.segmentSize = 16 << 20
	ev := append([]byte(`{"eventName":"Encrypt","pad":"`), bytes.Repeat([]byte("x"), 860)...)
	ev = append(ev, `"}`...)
	events := make([][]byte, 16)
	for i := range events {
		events[i] = ev
	}
	for index := uint64(1); index <= (64<<20)/uint64(16*len(ev)); index++ {
		if _, err := src.AppendBatches([]Batch{{Index: index, Events: events}}); err != nil {
			b.Fatal(err)
		}
	}
	v, err := src.View()
	if err != nil {
		b.Fatal(err)
	}
	e, files := v.Extent()
	var stream bytes.Buffer
	for _, f := range files {
		if _, err := stream.ReadFrom(io.NewSectionReader(f.File, 0, f.Size)); err != nil {
			b.Fatal(err)
		}
	}
	v.Close()
	b.SetBytes(int64(stream.Len()))
	b.ResetTimer()
	for i := range b.N {
		dst, err := Open(filepath.Join(b.TempDir(), fmt.Sprint("dst", i)))
		if err != nil {
			b.Fatal(err)
		}
		if err := dst.Restore(1, e, bytes.NewReader(stream.Bytes())); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		dst.Close()
		b.StartTimer()
	}
}
