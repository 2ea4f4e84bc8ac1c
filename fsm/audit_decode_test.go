package fsm

import (
	"bytes"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/keyraft/keyraft/fsm/fsmpb"
)

// FuzzAuditBatchEvents: whatever the fast path accepts, the general path
// (DecodeCommand, then the payload's proto.Unmarshal) accepts too, as an
// audit batch of today's version with the same events.
func FuzzAuditBatchEvents(f *testing.F) {
	batch, _ := NewCommand(CmdAuditBatch, &fsmpb.AuditBatch{Events: [][]byte{[]byte(`{"eventName":"Encrypt"}`), []byte(`{}`)}}, time.Unix(1, 0))
	f.Add(batch)
	other, _ := NewCommand(CmdAuditTrim, &fsmpb.AuditTrim{BeforeSeq: 3, Event: []byte(`{}`)}, time.Unix(1, 0))
	f.Add(other)
	v2, _ := proto.Marshal(&fsmpb.Command{Type: uint32(CmdAuditBatch), Version: 2, Payload: []byte{0x0a, 0x01, 'x'}})
	f.Add(v2)
	// An unknown field in the envelope and in the payload, and a second payload (the last wins).
	odd := protowire.AppendTag(append([]byte{}, batch...), 9, protowire.Fixed64Type)
	odd = protowire.AppendFixed64(odd, 7)
	odd = protowire.AppendTag(odd, 5, protowire.BytesType)
	odd = protowire.AppendBytes(odd, []byte{0x0a, 0x02, '{', '}', 0x10, 0x05})
	f.Add(odd)
	f.Add([]byte{0x08, 0x80, 0x02}) // type 256
	deflated, _ := NewAuditBatchCommand([][]byte{[]byte(`{"eventName":"Encrypt"}`), []byte(`{}`)}, time.Unix(1, 0))
	f.Add(deflated)
	f.Fuzz(func(t *testing.T, data []byte) {
		events, release, ok := auditBatchEvents(data)
		if !ok {
			return
		}
		if release != nil {
			defer release()
		}
		cmd, err := DecodeCommand(data)
		if err != nil || CommandType(cmd.Type) != CmdAuditBatch || (cmd.Version != commandVersion && cmd.Version != auditBatchDeflated) {
			t.Fatalf("fast path took what the general path reads as %v, %v", cmd, err)
		}
		payload := cmd.Payload
		if cmd.Version == auditBatchDeflated {
			var rel func()
			if payload, rel, err = inflate(payload, maxInflatedBatch); err != nil {
				t.Fatalf("fast path took a payload that does not inflate: %v", err)
			}
			defer rel()
		}
		var c fsmpb.AuditBatch
		if err := proto.Unmarshal(payload, &c); err != nil {
			t.Fatalf("fast path took a payload proto.Unmarshal refuses: %v", err)
		}
		if len(c.Events) != len(events) {
			t.Fatalf("%d events, proto.Unmarshal reads %d", len(events), len(c.Events))
		}
		for i := range events {
			if !bytes.Equal(events[i], c.Events[i]) {
				t.Fatalf("event %d: %q, proto.Unmarshal reads %q", i, events[i], c.Events[i])
			}
		}
	})
}
