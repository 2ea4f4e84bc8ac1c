// Package raftstream is raft's StreamLayer over mutual TLS: the raft
// listener accepts only peers whose certificate chains to the cluster CA,
// and dials peers with this node's certificate.
package raftstream
