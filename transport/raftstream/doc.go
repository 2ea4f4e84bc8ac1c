// Package raftstream is raft's StreamLayer over mutual TLS: the raft
// listener accepts only peers whose certificate chains to the cluster CA,
// and dials peers with this node's certificate. Each accepted connection
// then carries this node's identity proof, and a dialed peer whose id is
// bound must prove the bound key (transport/nodeproof).
package raftstream
