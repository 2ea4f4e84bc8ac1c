// Package audit holds the audit log: CloudTrail-shaped events, the hash
// chain that links them, the on-disk store the state machine appends them
// to, verification, and the leader's group commit.
package audit
