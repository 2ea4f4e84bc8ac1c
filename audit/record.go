package audit

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"hash"
	"strconv"
)

// Record is one stored event with its place in the hash chain.
type Record struct {
	Seq   uint64
	Prev  [32]byte
	Hash  [32]byte
	Event []byte // the event's JSON, exactly as the leader wrote it
}

const recordHeader = 8 + 32 + 32

// chainHash links an event to its predecessor: any change to the event, its
// sequence number or the previous hash changes it.
func chainHash(prev [32]byte, seq uint64, event []byte) [32]byte {
	return chainHashWith(sha256.New(), prev, seq, event)
}

// chainHashWith is chainHash computed with h, reset first, so that the
// writer hashes every event without allocating a digest.
func chainHashWith(h hash.Hash, prev [32]byte, seq uint64, event []byte) [32]byte {
	h.Reset()
	h.Write([]byte("keyraft-audit-v1"))
	h.Write(prev[:])
	var s [8]byte
	binary.BigEndian.PutUint64(s[:], seq)
	h.Write(s[:])
	h.Write(event)
	var out [32]byte
	h.Sum(out[:0])
	return out
}

func (r Record) encode() []byte {
	b := make([]byte, recordHeader+len(r.Event))
	binary.BigEndian.PutUint64(b, r.Seq)
	copy(b[8:], r.Prev[:])
	copy(b[40:], r.Hash[:])
	copy(b[recordHeader:], r.Event)
	return b
}

func decodeRecord(b []byte) (Record, error) {
	if len(b) < recordHeader+2 {
		return Record{}, ErrBadRecord
	}
	r, err := parseRecord(b)
	r.Event = bytes.Clone(r.Event)
	return r, err
}

// parseRecord is decodeRecord without the copy (the event aliases b) and
// without a lower bound on the event: the store keeps whatever event a
// batch held, so that no replica refuses to read back what it wrote.
func parseRecord(b []byte) (Record, error) {
	if len(b) < recordHeader {
		return Record{}, ErrBadRecord
	}
	r := Record{Seq: binary.BigEndian.Uint64(b), Event: b[recordHeader:]}
	copy(r.Prev[:], b[8:40])
	copy(r.Hash[:], b[40:72])
	return r, nil
}

// JSON renders the record as one JSON object: the event's own members with
// the chain's members first.
func (r Record) JSON() []byte {
	ev := bytes.TrimSpace(r.Event)
	var b bytes.Buffer
	b.Grow(len(ev) + 200)
	b.WriteString(`{"keyraftSequence":`)
	b.WriteString(strconv.FormatUint(r.Seq, 10))
	b.WriteString(`,"keyraftPrevHash":"`)
	b.WriteString(hex.EncodeToString(r.Prev[:]))
	b.WriteString(`","keyraftHash":"`)
	b.WriteString(hex.EncodeToString(r.Hash[:]))
	b.WriteString(`"`)
	if len(ev) > 2 && ev[0] == '{' {
		b.WriteByte(',')
		b.Write(ev[1:])
	} else {
		b.WriteString(`,"event":`)
		b.Write(ev)
		b.WriteByte('}')
	}
	return b.Bytes()
}
