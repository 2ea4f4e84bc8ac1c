package node

import (
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/keyraft/keyraft/transport/connlimit"
)

// maxHeaderBytes bounds a request's header block: a KMS request's (SigV4
// headers, a presigned query) is a few KiB; net/http's default is 1 MiB per
// connection. The API listener's other bounds and timeouts are settings,
// with their defaults in package config.
const maxHeaderBytes = 64 << 10

// The cluster listener carries the nodes' gRPC: one or two connections
// from each peer, and the forwards of a follower multiplexed on them.
const (
	clusterMaxConnections      = 512
	clusterMaxConnectionsPerIP = 128 // a test cluster's nodes share 127.0.0.1
	clusterHandshakeTimeout    = 10 * time.Second
)

// apiHTTPServer is the API listener's http.Server, with every timeout set:
// a connection that sends slowly, reads slowly or idles is closed.
func (s *Server) apiHTTPServer() *http.Server {
	return &http.Server{
		Handler:           s,
		ReadHeaderTimeout: s.cfg.HTTPReadHeaderTimeout,
		ReadTimeout:       s.cfg.HTTPReadTimeout,
		WriteTimeout:      s.writeTimeout(),
		IdleTimeout:       s.cfg.HTTPIdleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ConnState:         s.connState,
	}
}

func (s *Server) writeTimeout() time.Duration {
	return s.cfg.HTTPWriteTimeout
}

// limitAPI caps the API listener's connections (below TLS, so handshakes
// count). At its maximum it closes the longest-idle connection to serve a
// newcomer, so that connections held open and silent, from however many
// addresses, cannot lock clients out; apiHTTPServer's ConnState tells it
// which are idle.
func (s *Server) limitAPI(ln net.Listener) net.Listener {
	s.apiLimit = connlimit.New(ln, connlimit.Limits{Max: s.cfg.MaxConnections, PerIP: s.cfg.MaxConnectionsPerIP, EvictIdle: true},
		s.countRefusal(newRejectLog(s.log, "api").note))
	return s.apiLimit
}

// connState marks the API's connections idle while they wait for a
// request (their first, or the next on a keep-alive connection).
func (s *Server) connState(c net.Conn, st http.ConnState) {
	if s.apiLimit != nil {
		s.apiLimit.SetIdle(c, st == http.StateNew || st == http.StateIdle)
	}
}

// limitCluster caps the cluster listener's connections.
func (s *Server) limitCluster(ln net.Listener) net.Listener {
	return connlimit.New(ln, connlimit.Limits{Max: clusterMaxConnections, PerIP: clusterMaxConnectionsPerIP},
		newRejectLog(s.log, "cluster").note)
}

// rejectLog reports refused connections at most every rejectLogEvery, so
// that a flood of them cannot flood the log as well.
type rejectLog struct {
	log      hclog.Logger
	listener string

	mu     sync.Mutex
	last   time.Time // when the last warning went out; guarded by mu
	missed int       // refusals since then, not reported; guarded by mu
}

const rejectLogEvery = 10 * time.Second

func newRejectLog(log hclog.Logger, listener string) *rejectLog {
	return &rejectLog{log: log, listener: listener}
}

func (l *rejectLog) note(remote net.Addr, why error) {
	l.mu.Lock()
	now := time.Now()
	if now.Sub(l.last) < rejectLogEvery {
		l.missed++
		l.mu.Unlock()
		return
	}
	missed := l.missed
	l.last, l.missed = now, 0
	l.mu.Unlock()
	l.log.Warn("connection refused: "+why.Error(), "listener", l.listener, "remote", remote.String(), "also_refused_since_last_warning", missed)
}
