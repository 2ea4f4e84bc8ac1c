// Package fsm is the Raft state machine: versioned commands, the replicated
// state they build, and deterministic Apply, Snapshot and Restore.
//
// Everything in the state is sealed or public: key material and secrets enter
// only as ciphertext under the barrier keyring, so every replica, sealed or
// not, may hold it.
package fsm
