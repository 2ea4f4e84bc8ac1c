// Package snapshots holds the node's Raft snapshot store: a
// raft.SnapshotStore in raft.FileSnapshotStore's directory layout whose
// sink can also take a prefix of a file by reference.
//
// A snapshot here contains the audit log, gigabytes of segment files that
// only ever grow. raft.FileSnapshotStore copies every byte of every
// snapshot into state.bin; Sink.WriteFile instead hard-links the file into
// the snapshot directory and records how many of its bytes belong to the
// snapshot. A snapshot then costs a directory entry and an fsync per file,
// while Store.Open returns the same stream, byte for byte, as if it had
// all been written inline: to raft's restore, and through InstallSnapshot
// to followers, which store it inline in their own store.
//
// The contract with WriteFile's caller: the file is append-only. The first
// size bytes never change once WriteFile has been called; the file may
// grow, be unlinked, or have its name reused. Growth is invisible to the
// snapshot, which reads only its prefix; unlinking frees nothing while a
// snapshot holds a link. Truncation below the prefix is caught by Open
// (ErrShortPart); a rewrite in place is not, and is the caller's to avoid.
//
// When a link cannot be made (a file system without hard links, the file
// on another device, its name gone or now naming another file), WriteFile
// copies the prefix into state.bin: slower, never different.
//
// Snapshots written by raft.FileSnapshotStore in the same directory are
// listed and opened as they are. See DESIGN.md.
package snapshots
