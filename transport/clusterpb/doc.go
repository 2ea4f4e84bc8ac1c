// Package clusterpb holds the gRPC service nodes call on one another over
// the cluster listener, generated from cluster.proto (`make proto`):
// Forward runs a request on the leader, Unseal hands one share to one node,
// Audit commits a follower's operator event on the leader.
package clusterpb
