package fsm

import (
	"bytes"
	"compress/flate"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/keyraft/keyraft/fsm/fsmpb"
)

// auditBatchDeflated is the payload version of a CmdAuditBatch whose payload
// is the version-1 AuditBatch encoding compressed with DEFLATE (RFC 1951).
// A batch is tens of CloudTrail-shaped events that share most of their
// bytes (user agent, ARNs, names): compressed it is about a tenth the size.
// The Raft log holds every batch until the next snapshot, and raft-boltdb
// maps that log into memory, so this is what keeps a busy node's log, its
// resident memory and its replication traffic in proportion to the
// information in its events rather than their text.
const auditBatchDeflated = 2

// maxInflatedBatch bounds what one entry may expand to, so a corrupt or
// hostile payload cannot exhaust memory (a full batch of the largest
// events is far below it).
const maxInflatedBatch = 256 << 20

var deflaters = sync.Pool{New: func() any {
	w, _ := flate.NewWriter(nil, flate.BestSpeed) // BestSpeed is a valid level
	return w
}}

var inflaters = sync.Pool{New: func() any { return flate.NewReader(bytes.NewReader(nil)) }}

// NewAuditBatchCommand is the entry that group-commits events: an
// AuditBatch, deflated.
func NewAuditBatchCommand(events [][]byte, now time.Time) ([]byte, error) {
	body, err := proto.MarshalOptions{Deterministic: true}.Marshal(&fsmpb.AuditBatch{Events: events})
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", CmdAuditBatch, err)
	}
	var buf bytes.Buffer
	buf.Grow(len(body)/4 + 64)
	w := deflaters.Get().(*flate.Writer)
	w.Reset(&buf)
	_, err = w.Write(body)
	if err == nil {
		err = w.Close()
	}
	deflaters.Put(w)
	if err != nil {
		return nil, fmt.Errorf("deflate %s: %w", CmdAuditBatch, err)
	}
	return envelope(CmdAuditBatch, auditBatchDeflated, now, buf.Bytes(), nil)
}

var errTooLarge = errors.New("inflates past the limit")

// inflate expands a deflated payload, refusing more than limit bytes. The
// payload comes in a pooled buffer, which release gives back (zeroed) once
// the caller has decoded it: an entry of a busy leader inflates every few
// milliseconds, and io.ReadAll's doubling garbage was a tenth of the
// leader's allocation under Encrypt load.
func inflate(payload []byte, limit int64) (out []byte, release func(), err error) {
	r := inflaters.Get().(io.ReadCloser)
	defer inflaters.Put(r)
	if err := r.(flate.Resetter).Reset(bytes.NewReader(payload), nil); err != nil {
		return nil, nil, err
	}
	buf := inflated.Get().(*bytes.Buffer)
	release = func() {
		clear(buf.Bytes())
		buf.Reset()
		if buf.Cap() <= maxPooledInflated {
			inflated.Put(buf)
		}
	}
	if _, err := buf.ReadFrom(io.LimitReader(r, limit+1)); err != nil {
		release()
		return nil, nil, err
	}
	if int64(buf.Len()) > limit {
		release()
		return nil, nil, errTooLarge
	}
	return buf.Bytes(), release, nil
}

var inflated = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// maxPooledInflated keeps a rare huge entry from pinning its buffer.
const maxPooledInflated = 4 << 20
