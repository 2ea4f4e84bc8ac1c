// Package iam holds the account's principals: IAM users, their access keys
// (secrets sealed under the keyring) and their inline identity policies, as
// operations committed through Raft on the leader.
package iam
