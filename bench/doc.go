// Package bench is a load generator for a keyraft cluster (or any AWS KMS
// endpoint), closed-loop (each worker sends when answered) or open-loop
// (Config.Rate: on schedule, whatever the answers do). It drives the real
// aws-sdk-go-v2 KMS client, so every request is signed with SigV4 and
// parsed exactly as an application would. With Config.Target openbao it
// drives OpenBao's (or Vault's) transit engine over its HTTP API instead,
// with the same workers and accounting, to measure keyraft beside it.
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
//
// # The load generator's own cost
//
// The bench shares the machine with the servers it measures, so what it
// spends per operation (Result.ClientCPUPerOp) is CPU the servers do not get.
// It is kept down without leaving the SDK's path:
//
//   - The SDK client is used as an application would: its middleware stack
//     is not trimmed. Removing the steps a benchmark could do without
//     (recursion detection, response timing, request logging, interceptor
//     hooks, the retry rate limiter) saved about 2 µs of the SDK's ~40 µs per
//     4 KiB Encrypt (BenchmarkSDKEncrypt), lost in noise end to end, and
//     dropping the amz-sdk-invocation-id or amz-sdk-request headers would
//     change the signed headers the server verifies.
//   - The transport reads with a 16 KiB buffer, so an answer of up to
//     MaxSize plaintext comes in one read system call instead of two.
//   - `keyraft bench` raises the GC target to GOGC=1000 unless GOGC is set:
//     the SDK allocates about 50 KB per request on a live heap of a few MB,
//     and at the default the collector and the scavenger were about a fifth
//     of the bench's CPU. Run itself leaves process-wide settings alone.
package bench
