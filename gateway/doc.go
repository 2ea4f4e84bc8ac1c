// Package gateway is the one way a KMS or IAM request takes through a
// node: bounded read, signature, caller, operation table, one decoding,
// authorization, execution, audit event, commit and answer, on the leader,
// or forwarded to it from a follower. DESIGN.md walks the steps.
package gateway
