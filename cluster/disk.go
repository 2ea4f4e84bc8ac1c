package cluster

import (
	"errors"
	"fmt"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/raft"

	"github.com/keyraft/keyraft/internal/diskspace"
)

// ErrNoSpace: a voter's data dir is out of space, or below -min-free-disk,
// so the leader proposes nothing. Reads of status go on; writes resume by
// themselves once space returns.
var ErrNoSpace = errors.New("no space left on the data dir")

// NoSpaceError names the node whose disk refuses writes.
type NoSpaceError struct {
	NodeID string
	Free   uint64 // bytes free, when known (this node's own disk)
	Min    uint64 // -min-free-disk
	Cause  string // "below -min-free-disk" or the failed write
	Full   bool   // a write failed for space (not only below -min-free-disk)
}

// gossiped is the short, fixed cause a node gossips: memberlist caps
// node metadata at 512 bytes, and a cause with numbers in it would change
// (and be broadcast) at every measurement.
func (e *NoSpaceError) gossiped() string {
	if e.Full {
		return "out of space: its writes wait for room"
	}
	return "below -min-free-disk"
}

func (e *NoSpaceError) Error() string {
	msg := fmt.Sprintf("%s of node %s", ErrNoSpace, e.NodeID)
	if e.Cause != "" {
		msg += ": " + e.Cause
	}
	return msg + "; writes are refused until space is freed, then resume by themselves"
}

func (e *NoSpaceError) Unwrap() error { return ErrNoSpace }

// Alarm is one node's NOSPACE alarm, as etcd shows its NOSPACE alarm.
type Alarm struct {
	Alarm   string `json:"alarm"`
	NodeID  string `json:"node_id"`
	Message string `json:"message"`
}

// diskWatch is this node's view of its own disk.
type diskWatch struct {
	free    atomic.Uint64 // bytes free at the last look
	known   atomic.Bool   // whether free was measured
	waiting atomic.Value  // string: a Raft store write waiting for space ("" when none)
	waitMu  sync.Mutex    // one Raft store write waits for space at a time
	// full is the last write refused for space (a Raft log append, a wait
	// above, the FSM's store), kept until clearFree is free again: a
	// retry may succeed on a disk that is still full (bbolt reuses its
	// free pages), and the leader must not take that for room.
	full atomic.Value // string
}

// clearFree is what must be free again before the alarm a refused write
// raised clears: -min-free-disk, and at least this.
const clearFree = 8 << 20

// diskPoll is how often the node looks at its free space and gossips it.
const diskPoll = 250 * time.Millisecond

// localNoSpace is this node's own reason to refuse writes, or nil.
func (n *Node) localNoSpace() *NoSpaceError {
	if w, _ := n.disk.waiting.Load().(string); w != "" {
		return &NoSpaceError{NodeID: n.cfg.NodeID, Min: n.cfg.MinFreeDisk, Cause: w, Full: true}
	}
	if n.cfg.FSM != nil {
		if _, err := n.cfg.FSM.Stalled(); err != nil {
			return &NoSpaceError{NodeID: n.cfg.NodeID, Min: n.cfg.MinFreeDisk, Cause: "the audit store could not be written: " + diskspace.Reason(err), Full: true}
		}
	}
	if w, _ := n.disk.full.Load().(string); w != "" {
		return &NoSpaceError{NodeID: n.cfg.NodeID, Min: n.cfg.MinFreeDisk, Cause: w, Full: true}
	}
	if n.cfg.MinFreeDisk == 0 || !n.disk.known.Load() {
		return nil
	}
	if free := n.disk.free.Load(); free < n.cfg.MinFreeDisk {
		return &NoSpaceError{NodeID: n.cfg.NodeID, Free: free, Min: n.cfg.MinFreeDisk, Cause: fmt.Sprintf(
			"%s free, below -min-free-disk %s", diskspace.FormatSize(free), diskspace.FormatSize(n.cfg.MinFreeDisk))}
	}
	return nil
}

// measureDisk looks at the data dir's free space now.
func (n *Node) measureDisk() {
	free, _, err := diskspace.Stat(n.cfg.DataDir)
	if err != nil {
		n.log.Warn("cannot measure the data dir's free space", "error", err)
		return
	}
	n.disk.free.Store(free)
	n.disk.known.Store(true)
}

// diskLoop measures the data dir, gossips whether this node refuses
// writes, and makes the reserve again once there is room for it.
func (n *Node) diskLoop() {
	defer n.wg.Done()
	t := time.NewTicker(diskPoll)
	defer t.Stop()
	wasLow := false
	for {
		n.measureDisk()
		n.clearFull()
		e := n.localNoSpace()
		cause := ""
		if e != nil {
			cause = e.gossiped()
		}
		low := e != nil
		switch {
		case low && !wasLow:
			n.log.Error("NOSPACE alarm: writes are refused until space is freed", "cause", e.Cause)
		case !low && wasLow:
			n.log.Info("NOSPACE alarm cleared: writes resume")
		}
		wasLow = low
		n.updateMeta(func(m *Meta) { m.NoSpace = cause })
		if !low && n.cfg.Reserve != nil {
			if err := n.cfg.Reserve.Ensure(n.cfg.MinFreeDisk, n.cfg.DataDir); err != nil {
				n.log.Warn("could not make the disk reserve", "error", err)
			}
		}
		select {
		case <-n.stopCh:
			return
		case <-t.C:
		}
	}
}

// clearFull keeps the alarm of a write refused for space (or raises it
// for the FSM's) until the writes are done waiting and clearFree, or
// -min-free-disk if more, is free again.
func (n *Node) clearFull() {
	if n.cfg.FSM != nil {
		if _, err := n.cfg.FSM.Stalled(); err != nil {
			n.disk.full.Store("the audit store could not be written: " + diskspace.Reason(err))
			return
		}
	}
	if w, _ := n.disk.waiting.Load().(string); w != "" {
		return
	}
	if w, _ := n.disk.full.Load().(string); w != "" && n.disk.known.Load() && n.disk.free.Load() >= max(n.cfg.MinFreeDisk, clearFree) {
		n.disk.full.Store("")
	}
}

// noSpace is why this leader must not propose, or nil: its own disk
// (measured now), or a voter that gossips it is out of space.
func (n *Node) noSpace() error {
	n.measureDisk()
	if e := n.localNoSpace(); e != nil {
		return e
	}
	members := n.aliveMembers()
	voters := n.voterIDs()
	for _, id := range voters {
		if m, ok := members[id]; ok && m.NoSpace != "" && id != n.cfg.NodeID {
			return &NoSpaceError{NodeID: id, Min: n.cfg.MinFreeDisk, Cause: m.NoSpace}
		}
	}
	return nil
}

// voterIDs lists the voters of the latest configuration, sorted.
func (n *Node) voterIDs() []string {
	f := n.raft.GetConfiguration()
	if f.Error() != nil {
		return nil
	}
	var ids []string
	for _, s := range f.Configuration().Servers {
		if s.Suffrage == raft.Voter {
			ids = append(ids, string(s.ID))
		}
	}
	sort.Strings(ids)
	return ids
}

// Alarms lists the NOSPACE alarms this node knows of: its own, with the
// cause, and those other live servers gossip.
func (n *Node) Alarms() []Alarm {
	var out []Alarm
	if e := n.localNoSpace(); e != nil {
		out = append(out, Alarm{Alarm: "NOSPACE", NodeID: n.cfg.NodeID, Message: e.Error()})
	}
	members := n.aliveMembers()
	ids := make([]string, 0, len(members))
	for id := range members {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		if id != n.cfg.NodeID && members[id].NoSpace != "" {
			e := &NoSpaceError{NodeID: id, Cause: members[id].NoSpace}
			out = append(out, Alarm{Alarm: "NOSPACE", NodeID: id, Message: e.Error()})
		}
	}
	return out
}

// LocalNoSpace is this node's own NOSPACE condition, or nil.
func (n *Node) LocalNoSpace() error {
	if e := n.localNoSpace(); e != nil {
		return e
	}
	return nil
}

// waitStable is raft's stable store, waiting out a full disk. Raft panics
// when it cannot save its term; a write refused for lack of space is
// instead retried, after the reserve is given back, until it succeeds or
// the node stops.
type waitStable struct {
	raft.StableStore
	n *Node
}

func (s *waitStable) Set(key, val []byte) error {
	return s.n.untilSpace("raft stable store", func() error { return s.StableStore.Set(key, val) })
}

func (s *waitStable) SetUint64(key []byte, val uint64) error {
	return s.n.untilSpace("raft stable store", func() error { return s.StableStore.SetUint64(key, val) })
}

// reserveLogs is raft's log store, giving back the reserve when a write
// finds the disk full and trying once more. A write that still fails is
// raft's to handle (a leader steps down; a follower refuses the entries).
type reserveLogs struct {
	raft.LogStore
	n *Node
}

func (l *reserveLogs) StoreLogs(logs []*raft.Log) error {
	err := l.LogStore.StoreLogs(logs)
	if diskspace.IsNoSpace(err) && l.n.cfg.Reserve.Release() {
		l.n.log.Warn("raft log store out of space: released the disk reserve", "error", err)
		err = l.LogStore.StoreLogs(logs)
	}
	if diskspace.IsNoSpace(err) {
		l.n.disk.full.Store("the raft log could not be written: " + diskspace.Reason(err))
	}
	return err
}

func (l *reserveLogs) StoreLog(log *raft.Log) error { return l.StoreLogs([]*raft.Log{log}) }

// untilSpace runs write until it succeeds or fails for another reason than
// space. While it waits, the node shows a NOSPACE alarm. A stopping node
// ends the wait by ending the goroutine (Raft's), as FSM.Abandon does.
func (n *Node) untilSpace(what string, write func() error) error {
	err := write()
	if !diskspace.IsNoSpace(err) {
		return err
	}
	n.disk.waitMu.Lock()
	defer n.disk.waitMu.Unlock()
	if n.cfg.Reserve.Release() {
		n.log.Warn(what+" out of space: released the disk reserve", "error", err)
		if err = write(); !diskspace.IsNoSpace(err) {
			return err
		}
	}
	n.disk.waiting.Store(what + " could not be written: " + diskspace.Reason(err))
	n.disk.full.Store(what + " could not be written: " + diskspace.Reason(err))
	n.log.Error(what+" is out of disk space: raft waits until space is freed (NOSPACE alarm)", "error", err)
	defer n.disk.waiting.Store("")
	wait := 50 * time.Millisecond
	for {
		select {
		case <-n.stopCh:
			runtime.Goexit()
		case <-time.After(wait):
		}
		if err = write(); !diskspace.IsNoSpace(err) {
			return err
		}
		wait = min(2*wait, time.Second)
	}
}
