// Package fsm is the Raft state machine: versioned commands, the replicated
// state they build, and deterministic Apply, Snapshot and Restore. The
// state is read through Query, in domain types; proposing a command
// answers a Result, or the FSM's refusal as an error (DESIGN.md).
//
// Everything in the state is sealed or public: key material and secrets enter
// only as ciphertext under the barrier keyring, so every replica, sealed or
// not, may hold it.
package fsm
