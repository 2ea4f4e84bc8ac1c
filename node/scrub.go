package node

import (
	"context"
	"net"
	"net/http"
	"sync"

	"github.com/keyraft/keyraft/internal/wipe"
)

// A seal zeroes every secret this process holds (Seal), but copies that
// passed through net/http and crypto/tls stay in their buffers: a share
// in the read buffer of the connection that unsealed, an init answer in a
// pooled write buffer. Those buffers go back to their pools, and then to
// the heap's free memory, only once their connection closes, so a seal
// closes the idle connections and overwrites the free heap, and the
// connection that asked for the seal is closed after its answer and the
// heap overwritten once more when it is.

// connKey is the context key of a request's connection. It is the one
// context value the node sets: net/http hands a handler its connection only
// through the context (http.Server.ConnContext), so no parameter can.
type connKey struct{}

// scrubAfter records the connections whose closing is to be followed by
// an overwrite of the free heap.
type scrubAfter struct {
	mu    sync.Mutex
	conns map[net.Conn]bool
	done  func() // called after each overwrite, for the log
}

// connContext is http.Server.ConnContext: it lets a handler find its
// connection.
func connContext(ctx context.Context, c net.Conn) context.Context {
	return context.WithValue(ctx, connKey{}, c)
}

// mark asks for an overwrite once r's connection closes, and closes it
// after the answer.
func (sa *scrubAfter) mark(w http.ResponseWriter, r *http.Request) {
	c, ok := r.Context().Value(connKey{}).(net.Conn)
	if !ok {
		return // forwarded: no connection of ours
	}
	w.Header().Set("Connection", "close")
	sa.mu.Lock()
	if sa.conns == nil {
		sa.conns = map[net.Conn]bool{}
	}
	sa.conns[c] = true
	sa.mu.Unlock()
}

// connState is http.Server.ConnState. net/http has returned a closed
// connection's buffers to its pools by the time it reports StateClosed.
func (sa *scrubAfter) connState(c net.Conn, st http.ConnState) {
	if st != http.StateClosed && st != http.StateHijacked {
		return
	}
	sa.mu.Lock()
	marked := sa.conns[c]
	delete(sa.conns, c)
	sa.mu.Unlock()
	if marked {
		go func() {
			wipe.Heap()
			if sa.done != nil {
				sa.done()
			}
		}()
	}
}

// forgetConnections closes the API's idle connections, so that their
// buffers return to the pools before the heap is overwritten.
func (s *Server) forgetConnections() {
	if s.http == nil {
		return
	}
	s.http.SetKeepAlivesEnabled(false) // closes the idle ones
	s.http.SetKeepAlivesEnabled(true)
}
