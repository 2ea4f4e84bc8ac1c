// Package tlsconfig holds keyraft's TLS material: it makes the cluster CA and
// node certificates (`keyraft operator tls-gen`), loads them, and builds the
// tls.Configs of the API, cluster (gRPC) and raft listeners and their dialers.
package tlsconfig
