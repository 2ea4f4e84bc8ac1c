package cluster

import (
	"io"
	"time"

	"github.com/hashicorp/raft"
)

// SaveSnapshot has raft take a snapshot now, on the leader, and opens it.
// A barrier first makes the snapshot hold every entry committed before the
// call, and gives raft a new entry to snapshot, which it otherwise refuses
// when nothing was applied since its last one.
func (n *Node) SaveSnapshot(timeout time.Duration) (*raft.SnapshotMeta, io.ReadCloser, error) {
	if !n.IsLeader() {
		return nil, nil, ErrNotLeader
	}
	if err := n.raft.Barrier(timeout).Error(); err != nil {
		return nil, nil, mapRaftErr(err)
	}
	f := n.raft.Snapshot()
	if err := f.Error(); err != nil {
		return nil, nil, mapRaftErr(err)
	}
	return f.Open()
}

// RestoreSnapshot replaces the replicated state with the stream r (meta's
// Size bytes) through raft's user restore on the leader: it becomes a
// snapshot at an index past every entry, installed on each follower in
// turn. Raft reads r to the end into its snapshot store before the FSM
// sees any of it, so a reader that fails (a damaged file) changes nothing.
func (n *Node) RestoreSnapshot(meta *raft.SnapshotMeta, r io.Reader, timeout time.Duration) error {
	if !n.IsLeader() {
		return ErrNotLeader
	}
	return mapRaftErr(n.raft.Restore(meta, r, timeout))
}
