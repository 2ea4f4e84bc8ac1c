package audit

import "errors"

var (
	// ErrNotCommitted: the event could not be committed; the request it
	// records must not be answered as a success.
	ErrNotCommitted = errors.New("audit event not committed")
	// ErrBadRecord is returned for stored bytes that are not a record.
	ErrBadRecord = errors.New("malformed audit record")
	// ErrReadOnly is returned for a write to a store opened read-only.
	ErrReadOnly = errors.New("audit store is read-only")
	// ErrClosed is returned for a use of a closed store.
	ErrClosed = errors.New("audit store is closed")
	// ErrDiverged: a snapshot's chain and the store's disagree at an event
	// both hold. The store keeps its log and refuses writes: move the
	// node's audit directory aside and restart it, and it is refilled from
	// the cluster.
	ErrDiverged = errors.New("audit log differs from the cluster's snapshot " +
		"(stop the node, move its audit directory aside, and restart it to refill the log from the cluster)")
	// ErrLocked: another process has the store open (a running node, for
	// OpenReadOnly; anyone, for Open).
	ErrLocked = errors.New("audit store is in use by another process")

	// errCorruptStore: a file of the store is not what this version
	// writes (a wrong header, a damaged meta file). Open sets the
	// directory aside and starts empty; Raft's snapshot and log refill it.
	errCorruptStore = errors.New("audit store is corrupt")
	// errTornFrame: the bytes end inside a frame, or where a frame should
	// begin there are zeros: what a write cut short by a crash leaves.
	errTornFrame = errors.New("audit segment ends inside a record")
)
