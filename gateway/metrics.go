package gateway

import (
	"net/http"
)

// answeredError is the AWS error code of the answer written to w, "" for
// a success. Every error answer, this node's (awsjson.WriteError) or the
// leader's copied through (WriteForwarded), carries it in
// X-Amzn-Errortype; reading the header leaves w unwrapped, so
// http.MaxBytesReader still reaches the server's own writer and closes
// the connection after a body over the limit.
func answeredError(w http.ResponseWriter) string {
	return w.Header().Get("X-Amzn-Errortype")
}

// metricsOp is the operation r names as the operation table has it, or ""
// when the table has no such operation (the metrics count it as unknown).
func metricsOp(r *http.Request) string {
	if op, _, _ := Lookup(r.Header.Get("X-Amz-Target")); op != nil {
		return op.Name
	}
	return ""
}

// OperationNames lists the operation table's names, the values the
// request metrics' operation label may take.
func OperationNames() []string {
	names := make([]string, len(operations))
	for i, op := range operations {
		names[i] = op.Name
	}
	return names
}
