// Package metrics owns keyraft's Prometheus registry and every metric a
// node exports on GET /metrics: their names, help, labels and buckets. The
// packages it instruments get the part they need as a field (a nil one
// records nothing), so no package defines a metric of its own, and every
// label value comes from a bounded set this package checks.
package metrics
