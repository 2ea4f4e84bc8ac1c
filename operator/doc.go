// Package operator serves the operator HTTP API under /v1/sys/ and runs
// its ceremonies: init, unseal, seal, remove-peer, status and the audit
// log's reading, each authorised, rate-limited and audited as it requires.
package operator
