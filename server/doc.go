// Package server assembles one keyraft node: the state machine, the seal
// barrier, the cluster node, the KMS service, and the API and cluster
// listeners that route requests to the leader.
package server
