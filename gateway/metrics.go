package gateway

import (
	"net/http"
)

// observedWriter notes the error type of the answer written through it,
// for the request's metrics.
type observedWriter struct {
	http.ResponseWriter
	status int
}

func (o *observedWriter) WriteHeader(status int) {
	if o.status == 0 {
		o.status = status
	}
	o.ResponseWriter.WriteHeader(status)
}

func (o *observedWriter) Write(b []byte) (int, error) {
	if o.status == 0 {
		o.status = http.StatusOK
	}
	return o.ResponseWriter.Write(b)
}

// errorType is the answer's AWS error code ("" for a success): every error
// answer, this node's or the leader's copied through, carries it in
// X-Amzn-Errortype. An error status without one is counted as such all
// the same, under a code the metrics package does not know.
func (o *observedWriter) errorType() string {
	typ := o.Header().Get("X-Amzn-Errortype")
	if typ == "" && o.status >= http.StatusBadRequest {
		return http.StatusText(o.status)
	}
	return typ
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
