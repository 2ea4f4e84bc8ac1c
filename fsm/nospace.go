package fsm

import (
	"fmt"
	"runtime"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/keyraft/keyraft/internal/diskspace"
)

// stall is what Apply knows while it waits for disk space.
type stall struct {
	mu      sync.Mutex // guards the fields below against Stalled's readers
	err     error      // the last no-space error; nil while writes succeed
	since   time.Time
	log     hclog.Logger
	release func() bool // gives back the node's reserve (diskspace.Reserve)

	stopOnce sync.Once
	stop     chan struct{} // closed by Abandon
}

// OnDiskFull tells the FSM where to log that it waits for space and how to
// give back the node's reserve when it first finds the disk full.
func (f *FSM) OnDiskFull(log hclog.Logger, release func() bool) {
	f.stall.mu.Lock()
	defer f.stall.mu.Unlock()
	f.stall.log, f.stall.release = log, release
}

// Stalled returns the no-space error Apply is waiting out and since when,
// or nil when it is not waiting.
func (f *FSM) Stalled() (since time.Time, err error) {
	f.stall.mu.Lock()
	defer f.stall.mu.Unlock()
	return f.stall.since, f.stall.err
}

func (st *stall) stopCh() chan struct{} {
	st.stopOnce.Do(func() { st.stop = make(chan struct{}) })
	return st.stop
}

// Abandon ends a wait for space for good: the process is stopping, and
// the entry being applied is applied again from the Raft log at the next
// start. Without it, Raft's shutdown would wait for the FSM forever.
func (f *FSM) Abandon() {
	ch := f.stall.stopCh()
	f.stall.mu.Lock()
	defer f.stall.mu.Unlock()
	select {
	case <-ch:
	default:
		close(ch)
	}
}

// untilWritten runs a write to the audit store, f.mu held, until it
// succeeds. A write refused for lack of space is waited out rather than
// panicked on (every replica used to panic at once) or skipped (the
// replica's log would then differ from the others'): the store is brought
// back to what its files hold and the same write is tried again, with
// f.mu released in between so that status and reads go on. Raft simply
// stops applying on this node meanwhile, which is safe; the leader's
// -min-free-disk headroom is what keeps it rare. Any other failure still
// stops the replica.
func (f *FSM) untilWritten(write func() error) {
	wait := 20 * time.Millisecond
	for {
		err := write()
		if err == nil {
			f.stall.clear()
			return
		}
		if !diskspace.IsNoSpace(err) {
			panic(fmt.Sprintf("fsm: audit store: %v", err))
		}
		if f.stall.set(err) {
			wait = 0 // the reserve may have freed enough at once
		}
		f.mu.Unlock()
		select {
		case <-f.stall.stopCh():
			f.mu.Lock() // the callers' deferred Unlock runs on Goexit
			runtime.Goexit()
		case <-time.After(wait):
		}
		f.mu.Lock()
		if err := f.audit.Recover(); err != nil && !diskspace.IsNoSpace(err) {
			panic(fmt.Sprintf("fsm: audit store: %v", err))
		}
		wait = min(max(2*wait, 50*time.Millisecond), time.Second)
	}
}

// set records a no-space error; the first of a stall logs it and gives
// back the reserve, and reports true if that freed space.
func (st *stall) set(err error) (released bool) {
	st.mu.Lock()
	first := st.err == nil
	st.err = err
	if first {
		st.since = time.Now()
	}
	log, release := st.log, st.release
	st.mu.Unlock()
	if !first {
		return false
	}
	if release != nil {
		released = release()
	}
	if log != nil {
		log.Error("the audit store is out of disk space: applying waits until space is freed (NOSPACE alarm)",
			"error", err, "reserve_released", released)
	}
	return released
}

func (st *stall) clear() {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.err == nil {
		return
	}
	if st.log != nil {
		st.log.Info("disk space is back: applying resumed", "waited", time.Since(st.since).Round(time.Millisecond))
	}
	st.err = nil
}
