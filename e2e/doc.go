// Package e2e tests keyraft as its users meet it: it builds the binary
// from ./cmd/keyraft, starts real server processes (one node, a dev server,
// a cluster, with or without mutual TLS), and drives them with the AWS SDK,
// the aws CLI, the keyraft CLI and raw HTTP. It holds no code of its own
// beyond the test harness; see DESIGN.md for how the harness works.
package e2e
