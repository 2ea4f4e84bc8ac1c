// Package jepsen is keyraft's fault-injection harness: it runs a real
// cluster (local processes or docker-compose), drives it with the AWS SDK
// while a nemesis injects faults, records every operation, and checks the
// history. It is its own Go module so its dependencies (porcupine, gonum
// plot) and slow runs stay out of the server's `go test ./...`; it talks to
// keyraft only as a client would. See README.md.
package jepsen
