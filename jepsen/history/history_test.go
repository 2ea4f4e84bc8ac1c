package history

import (
	"bytes"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

func TestRecorderRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "history.jsonl")
	rec, err := Create(path, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for p := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 50 {
				op := rec.Invoke(&Op{Process: p, Type: Encrypt, Key: "k", In: Input{Plaintext: []byte{byte(i)}, Context: map[string]string{"a": "b"}}})
				op.Out = Output{Ciphertext: []byte("ct"), Version: 2}
				rec.Complete(op, OK)
			}
		}()
	}
	wg.Wait()
	if err := rec.Close(); err != nil {
		t.Fatal(err)
	}
	ops, err := ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(ops) != 400 {
		t.Fatalf("read %d ops, want 400", len(ops))
	}
	seen := map[int64]bool{}
	for i, op := range ops {
		if seen[op.ID] {
			t.Fatalf("duplicate id %d", op.ID)
		}
		seen[op.ID] = true
		if op.CompleteNS < op.InvokeNS || op.Status != OK || op.Out.Version != 2 || string(op.Out.Ciphertext) != "ct" || op.In.Context["a"] != "b" {
			t.Fatalf("op %d did not round-trip: %+v", i, op)
		}
		if i > 0 && ops[i-1].InvokeNS > op.InvokeNS {
			t.Fatal("not sorted by invocation")
		}
		if op.InvokeWall.IsZero() || op.CompleteWall.Before(op.InvokeWall) {
			t.Fatalf("wall clock times not kept: %+v", op)
		}
	}
}

func TestReadRejectsGarbage(t *testing.T) {
	var buf bytes.Buffer
	if err := Write(&buf, []Op{{ID: 1, Type: DescribeKey, Status: Fail, Error: "NotFoundException"}}); err != nil {
		t.Fatal(err)
	}
	buf.WriteString("{not json\n")
	if _, err := Read(&buf); err == nil {
		t.Fatal("a malformed line was accepted")
	}
}

func TestToken(t *testing.T) {
	if got := Token("r1", 42); got != "jepsen/r1-42" {
		t.Fatal(got)
	}
}
