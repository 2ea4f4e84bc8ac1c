package history

import (
	"bufio"
	"encoding/json"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// Recorder assigns op ids and timestamps and appends completed ops to a
// JSON-lines file. It is safe for concurrent use by every client.
type Recorder struct {
	start  time.Time // carries the monotonic reading all *NS fields count from
	nextID atomic.Int64

	mu  sync.Mutex // guards w, f and err against concurrent Complete calls
	f   *os.File
	w   *bufio.Writer
	err error
}

// Create starts a history at path; times count from start.
func Create(path string, start time.Time) (*Recorder, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	return &Recorder{start: start, f: f, w: bufio.NewWriter(f)}, nil
}

// Since is the monotonic time since the run began, in ns.
func (r *Recorder) Since() int64 { return int64(time.Since(r.start)) }

// Start is the instant the run's clock counts from.
func (r *Recorder) Start() time.Time { return r.start }

// Invoke stamps op with a fresh id and its invocation time. Call it just
// before the request is sent.
func (r *Recorder) Invoke(op *Op) *Op {
	op.ID = r.nextID.Add(1)
	now := time.Now()
	op.InvokeWall, op.InvokeNS = now, int64(now.Sub(r.start))
	return op
}

// Complete stamps op's completion and writes it. Call it as soon as the
// answer (or the timeout) arrives, before anything else happens to op.
func (r *Recorder) Complete(op *Op, status Status) {
	now := time.Now()
	op.CompleteWall, op.CompleteNS = now, int64(now.Sub(r.start))
	op.Status = status
	b, err := json.Marshal(op)
	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil {
		r.err = err
		return
	}
	if r.err == nil {
		b = append(b, '\n')
		_, r.err = r.w.Write(b)
	}
}

// Flush pushes buffered ops to the file (e.g. before reading it back).
func (r *Recorder) Flush() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err == nil {
		r.err = r.w.Flush()
	}
	return r.err
}

// Close flushes and closes the file; it reports the first write error.
func (r *Recorder) Close() error {
	err := r.Flush()
	if cerr := r.f.Close(); err == nil {
		err = cerr
	}
	return err
}
