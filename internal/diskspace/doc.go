// Package diskspace measures the free space of a data dir, parses sizes
// such as "256MiB", tells a full disk from other write errors, and keeps a
// small reserve file a node gives up to go on working on a full disk.
package diskspace
