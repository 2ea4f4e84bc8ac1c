// Package bench is a closed-loop load generator for a keyraft cluster (or any
// AWS KMS endpoint). It drives the real aws-sdk-go-v2 KMS client, so every
// request is signed with SigV4 and parsed exactly as an application would.
//
// Run creates the keys it needs, runs Config.Clients workers for a warm-up
// and then a timed phase, and reports throughput, latency percentiles and CPU
// cost per operation. Only operations completed inside the timed phase count.
//
// Contracts:
//
//   - Each worker records latencies into its own log-bucket histogram
//     (relative error below 0.4%); nothing is shared between workers on the
//     per-operation path except atomic counters in the worker's own struct
//     and one read-mostly phase flag. Errors, which should be rare, go
//     through a mutex-guarded log of distinct messages.
//   - The SDK's retries are disabled (one attempt), so every failure is
//     counted rather than hidden behind a retry.
//   - CPU time is read from /proc/PID/stat (utime+stime) for the server
//     processes named in Config.ServerPIDs and for the bench itself, as the
//     delta across the timed phase. It needs Linux; elsewhere Run fails when
//     ServerPIDs is set and reports no client CPU.
package bench
