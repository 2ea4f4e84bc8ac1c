package audit

// writebackEvery is how many bytes the writer lets a segment take before
// it asks the kernel to start writing them back, and drops the previous
// such chunk (written back by then) from the page cache.
//
// Why: the audit log is written once and read rarely, yet left alone it
// fills the page cache at the rate of the audit (10 GiB for 10M events),
// crowding out what the node does read (the Raft log) and, measured in
// BenchmarkAppendBatches on this project's VMs, doubling the kernel's CPU
// per event as the cache grows into memory the guest never touched, then
// throttling the writer when the dirty pages hit the kernel's limits.
// Starting writeback in steps is what RocksDB's bytes_per_sync does. It
// is not an fsync: it waits for nothing and makes nothing durable.
const writebackEvery = 8 << 20
