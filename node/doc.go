// Package node wires and runs one keyraft node: it builds the state
// machine, seal barrier, cluster node and services from its Config, serves
// the gateway and the operator API on the API listener and the cluster's
// calls on the cluster listener, and runs the node's housekeeping.
package node
