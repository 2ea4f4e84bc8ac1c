// Package gateway holds what keyraft knows about each API operation, in one
// table: the handler, whether it is read-only, its IAM action, the kind of
// resource it acts on and the request members its audit event records. The
// server reads a request once, decodes it once with AWS's exact member
// names, and runs and audits that same decoded request through its entry.
package gateway
