package node

import (
	"errors"
	"net"
	"net/http"
	"net/netip"

	"github.com/keyraft/keyraft/gateway"
	"github.com/keyraft/keyraft/metrics"
	"github.com/keyraft/keyraft/transport/connlimit"
)

// watchMetrics points the metrics that are read at scrape time at what
// they read, once the node's parts exist.
func (s *Server) watchMetrics() {
	m := s.metrics
	m.Gateway.Operations(gateway.OperationNames())
	m.Raft.WatchLeader(s.node.IsLeader)
	m.Audit.WatchStore(s.auditStore.Bytes)
	m.Node.Watch(s.sealed,
		func() bool { return s.node.LocalNoSpace() != nil },
		func() int { return len(s.node.Alarms()) },
		func() int {
			if s.apiLimit == nil {
				return 0
			}
			total, _ := s.apiLimit.Open(netip.Addr{})
			return total
		})
}

// serveMetrics answers GET /metrics, without authentication: a scrape
// reads counters in memory and writes nothing, replicated or not, and the
// metrics carry no key id, principal, address or secret (docs/metrics.md).
// -disable-metrics turns it off for an API listener exposed where even
// request rates should not be seen.
func (s *Server) serveMetrics(w http.ResponseWriter, r *http.Request) {
	if s.cfg.DisableMetrics {
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	s.metrics.Handler().ServeHTTP(w, r)
}

// countUnseal serves an unseal call and counts its answer.
func (s *Server) countUnseal(w http.ResponseWriter, r *http.Request, from gateway.Origin) {
	sw := &statusWriter{ResponseWriter: w}
	s.operator.Serve(sw, r, from)
	s.metrics.Node.Unseal(sw.status())
}

// statusWriter notes the status of the answer written through it.
type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection's writer (the
// operator API sets write deadlines through it).
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *statusWriter) status() int {
	if w.code == 0 {
		return http.StatusOK
	}
	return w.code
}

// countRefusal counts a connection the API listener closed at its limits,
// then hands it to the log.
func (s *Server) countRefusal(log func(net.Addr, error)) func(net.Addr, error) {
	return func(remote net.Addr, why error) {
		reason := metrics.Other
		switch {
		case errors.Is(why, connlimit.ErrMax):
			reason = metrics.RefusedMax
		case errors.Is(why, connlimit.ErrPerIP):
			reason = metrics.RefusedPerIP
		case errors.Is(why, connlimit.ErrEvicted):
			reason = metrics.RefusedEvicted
		}
		s.metrics.Node.ConnectionRefused(reason)
		log(remote, why)
	}
}
