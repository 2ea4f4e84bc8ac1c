package server

import (
	"context"
	"net/http"
)

// clientTLSKey holds, in a forwarded request's context, whether the client
// reached the forwarding node over TLS (clusterpb.HTTPRequest.client_tls).
const clientTLSKey ctxKey = 2

// withClientTLS marks a forwarded request's context with what the
// forwarding node saw of its client's connection.
func withClientTLS(ctx context.Context, tls bool) context.Context {
	return context.WithValue(ctx, clientTLSKey, tls)
}

// secureTransport is aws:SecureTransport: whether the client reached
// keyraft over TLS. A request that arrived on this node's API listener
// says so by its connection; a forwarded one by what the forwarding node
// put in the forward, which only a cluster peer can send (rpc.go). Nothing
// the client sends (X-Forwarded-Proto and the like) is consulted.
func secureTransport(r *http.Request) bool {
	if isForwarded(r.Context()) {
		tls, _ := r.Context().Value(clientTLSKey).(bool)
		return tls
	}
	return r.TLS != nil
}
