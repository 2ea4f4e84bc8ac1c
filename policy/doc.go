// Package policy parses, validates and evaluates AWS's JSON policy language as
// KMS uses it (key policies and IAM identity policies), and makes the KMS
// authorization decision from them; it is pure and knows nothing of the cluster.
package policy
