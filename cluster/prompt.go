package cluster

import (
	"errors"
	"net"
	"time"

	"github.com/hashicorp/raft"
)

// Raft backs off replication to a follower after each failed
// AppendEntries: 10 ms doubling to ~10 s (raft's failureWait and
// maxFailureScale, not configurable), and the wait is a plain sleep. So a
// follower that was down for more than a few seconds hears nothing of the
// log for up to 10 s after it restarts, and cannot unseal or serve (its
// FSM lacks the init record and the access keys) until it does.
//
// promptTransport keeps the replication (and heartbeat) call to a peer
// whose raft port refuses connections inside AppendEntries instead, probing
// the port until it opens and then sending at once: the failure is never
// reported to raft, so its back-off never grows, and a restarted follower
// gets the log as soon as it listens. Only dial failures are held; any
// other error (a refused certificate, a timeout) goes to raft unchanged,
// with raft's back-off. The wait ends with the node (stop) and after
// promptHold, so a goroutine of a leadership that has ended, or of a
// server removed from the configuration, does not wait forever: at worst
// one failure per promptHold reaches raft (after 2 min down, two: a 10 ms
// back-off). It also ends once gossip shows the peer alive at another raft
// address (a server restarted on a new IP): raft then gets the error, and
// its next try, 10 ms later, dials the address reconciliation gave it.
type promptTransport struct {
	*raft.NetworkTransport
	stop <-chan struct{}
	// moved reports whether server id now lives at an address other than
	// target; nil: never.
	moved func(id raft.ServerID, target raft.ServerAddress) bool
}

const (
	// promptHold bounds how long one AppendEntries waits for its peer.
	promptHold = time.Minute
	// promptProbe is how often the peer's port is probed meanwhile: the
	// delay between a restarted follower listening and its first append.
	promptProbe = 100 * time.Millisecond
)

// AppendEntries sends as raft's transport does and, when the peer could
// not be dialed, waits for its port to accept a connection (up to
// promptHold) and sends again.
func (t *promptTransport) AppendEntries(id raft.ServerID, target raft.ServerAddress, args *raft.AppendEntriesRequest, resp *raft.AppendEntriesResponse) error {
	err := t.NetworkTransport.AppendEntries(id, target, args, resp)
	if err == nil || !isDialError(err) {
		return err
	}
	if !t.awaitListening(id, target) {
		return err
	}
	return t.NetworkTransport.AppendEntries(id, target, args, resp)
}

// awaitListening probes target with a TCP connect until one succeeds
// (true), or the node stops, promptHold passes or the peer has moved
// (false). The probe connection is closed at once: a raft listener takes
// it as a connection that sent nothing.
func (t *promptTransport) awaitListening(id raft.ServerID, target raft.ServerAddress) bool {
	deadline := time.NewTimer(promptHold)
	defer deadline.Stop()
	tick := time.NewTicker(promptProbe)
	defer tick.Stop()
	for {
		select {
		case <-t.stop:
			return false
		case <-deadline.C:
			return false
		case <-tick.C:
		}
		if t.moved != nil && t.moved(id, target) {
			return false
		}
		c, err := net.DialTimeout("tcp", string(target), promptProbe*5)
		if err == nil {
			_ = c.Close()
			return true
		}
	}
}

// isDialError reports whether err is a failure to open a TCP connection
// (refused, unreachable, timed out connecting), as opposed to a failure
// on a connection that was made.
func isDialError(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}
