package fsm

import (
	"bytes"
	"compress/flate"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	"google.golang.org/protobuf/proto"

	"github.com/keyraft/keyraft/audit"
	"github.com/keyraft/keyraft/fsm/fsmpb"
)

// TestDeflatedBatchStoresTheSameEvents: a deflated batch and a plain one
// with the same events leave byte-identical audit logs, through Apply and
// through ApplyBatch, and the deflated entry is much smaller.
func TestDeflatedBatchStoresTheSameEvents(t *testing.T) {
	var events [][]byte
	for i := range 64 {
		events = append(events, []byte(fmt.Sprintf(`{"eventVersion":"1.08","eventSource":"kms.amazonaws.com","eventName":"Encrypt",`+
			`"userAgent":"aws-sdk-go-v2/1.47.7 ua/2.1 os/linux lang/go#1.26.8","requestID":"req-%04d",`+
			`"resources":[{"ARN":"arn:aws:kms:us-east-1:111122223333:key/1a813658-742c-4e4d-8496-f741213c5692"}]}`, i)))
	}
	now := time.Unix(1700000000, 0)
	plain, err := NewCommand(CmdAuditBatch, &fsmpb.AuditBatch{Events: events}, now)
	if err != nil {
		t.Fatal(err)
	}
	deflated, err := NewAuditBatchCommand(events, now)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("entry: %d bytes plain, %d deflated", len(plain), len(deflated))
	if len(deflated)*4 > len(plain) {
		t.Fatalf("deflated entry is %d bytes for %d plain", len(deflated), len(plain))
	}
	logOf := func(data []byte) []*raft.Log {
		return []*raft.Log{{Index: 1, Type: raft.LogCommand, Data: data}, {Index: 2, Type: raft.LogCommand, Data: data}}
	}
	want := exportAll(t, func(f *FSM) { f.ApplyBatch(logOf(plain)) })
	for name, apply := range map[string]func(f *FSM){
		"ApplyBatch": func(f *FSM) { f.ApplyBatch(logOf(deflated)) },
		"Apply": func(f *FSM) {
			for _, l := range logOf(deflated) {
				f.Apply(l)
			}
		},
	} {
		if got := exportAll(t, apply); !bytes.Equal(got, want) {
			t.Errorf("%s: the deflated batch stored other events than the plain one", name)
		}
	}
	// Entries in one run each keep their own inflated buffer until the
	// store has copied the run: different batches, stored as sent.
	second := make([][]byte, len(events))
	for i, e := range events {
		second[i] = bytes.ReplaceAll(e, []byte("Encrypt"), []byte("Decrypt"))
	}
	plain2, _ := NewCommand(CmdAuditBatch, &fsmpb.AuditBatch{Events: second}, now)
	deflated2, _ := NewAuditBatchCommand(second, now)
	run := func(a, b []byte) func(f *FSM) {
		return func(f *FSM) {
			f.ApplyBatch([]*raft.Log{{Index: 1, Type: raft.LogCommand, Data: a}, {Index: 2, Type: raft.LogCommand, Data: b}})
		}
	}
	if got, want := exportAll(t, run(deflated, deflated2)), exportAll(t, run(plain, plain2)); !bytes.Equal(got, want) {
		t.Errorf("two deflated batches in one run stored\n%s\nnot\n%s", got, want)
	}
}

func exportAll(t *testing.T, apply func(*FSM)) []byte {
	t.Helper()
	f := newFSM(t)
	apply(f)
	var out bytes.Buffer
	if err := f.Audit().Export(audit.Filter{}, 0, func(r audit.Record) error {
		fmt.Fprintf(&out, "%d %x %s\n", r.Seq, r.Hash, r.Event)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if out.Len() == 0 {
		t.Fatal("nothing stored")
	}
	return out.Bytes()
}

// TestInflateBounded: a payload that expands past the limit is refused
// before it is all in memory; garbage is refused.
func TestInflateBounded(t *testing.T) {
	var buf bytes.Buffer
	w, _ := flate.NewWriter(&buf, flate.BestCompression)
	_, _ = w.Write([]byte(strings.Repeat("a", 1<<20)))
	_ = w.Close()
	if _, _, err := inflate(buf.Bytes(), 1<<19); !errors.Is(err, errTooLarge) {
		t.Fatalf("a 1 MiB payload under a 512 KiB limit: %v", err)
	}
	if out, _, err := inflate(buf.Bytes(), 1<<20); err != nil || len(out) != 1<<20 {
		t.Fatalf("a 1 MiB payload under a 1 MiB limit: %d bytes, %v", len(out), err)
	}
	if _, _, err := inflate([]byte("not deflate"), 1<<20); err == nil {
		t.Fatal("garbage inflated")
	}
}

// TestCorruptDeflatedBatchStopsTheReplica: a committed entry that cannot be
// read stops the replica, as an unreadable plain payload does, instead of
// skipping the events.
func TestCorruptDeflatedBatchStopsTheReplica(t *testing.T) {
	data, _ := proto.Marshal(&fsmpb.Command{Type: uint32(CmdAuditBatch), Version: auditBatchDeflated, Payload: []byte("not deflate")})
	f := newFSM(t)
	defer func() {
		if recover() == nil {
			t.Fatal("a corrupt deflated batch applied")
		}
	}()
	f.ApplyBatch([]*raft.Log{{Index: 1, Type: raft.LogCommand, Data: data}})
}
