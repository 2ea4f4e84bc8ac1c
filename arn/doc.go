// Package arn builds and parses Amazon Resource Names: the ARNs keyraft
// gives its keys, aliases, users, account root, nodes and cluster, and the
// ARNs clients and policies send it, in any partition.
//
// It is the one place that knows the ARN layouts; it imports only the
// standard library, so that kms, iam, policy and the pipeline can all use
// it.
package arn
