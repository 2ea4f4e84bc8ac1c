// Package connlimit bounds the connections a listener holds open, in total
// and per source address, so that no one address can take every
// connection a server will hold, nor anyone all the descriptors the
// process has (Consul's limits.http_max_conns_per_client and nginx's
// limit_conn do the same).
//
// A connection over a limit is accepted from the kernel and closed at once,
// before a byte is read or written: the wrapper sits below TLS, so it
// counts handshakes in progress too and has nothing it could answer in.
// Clients see the connection closed and retry, as the AWS SDKs do.
//
// With EvictIdle, a listener at Max makes room for a newcomer by closing
// the connection that has been idle longest (one between requests, or one
// that has not sent its first request yet), as the server marks them with
// SetIdle: connections held open and silent then cannot lock everyone
// else out, while connections in the middle of a request are never cut.
package connlimit

import (
	"errors"
	"net"
	"net/netip"
	"sync"
	"time"
)

// Limits are the caps of one listener; zero means no cap.
type Limits struct {
	Max   int // connections open at once
	PerIP int // connections open at once from one source IP
	// EvictIdle: at Max, close the longest-idle connection (SetIdle) to
	// make room rather than refuse the newcomer.
	EvictIdle bool
}

// Why a connection was refused.
var (
	ErrMax   = errors.New("the listener holds its maximum of connections")
	ErrPerIP = errors.New("the source address holds its maximum of connections")
	// ErrEvicted is reported for an idle connection closed to make room.
	ErrEvicted = errors.New("an idle connection was closed to make room at the listener's maximum")
)

// Listener is a net.Listener that enforces Limits.
type Listener struct {
	net.Listener
	limits Limits
	// onReject, when set, hears of every refused connection; it runs on
	// the accepting goroutine, so it must not block.
	onReject func(remote net.Addr, why error)

	mu   sync.Mutex
	open int                 // guarded by mu
	byIP map[netip.Addr]int  // open connections per source; guarded by mu
	idle map[*conn]time.Time // idle connections and since when; guarded by mu
}

// New wraps ln. onReject may be nil.
func New(ln net.Listener, limits Limits, onReject func(remote net.Addr, why error)) *Listener {
	return &Listener{Listener: ln, limits: limits, onReject: onReject, byIP: make(map[netip.Addr]int), idle: make(map[*conn]time.Time)}
}

// Accept returns the next connection within the limits, closing those
// beyond them.
func (l *Listener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		ip := sourceIP(c.RemoteAddr())
		victim, why := l.acquire(ip)
		if why != nil {
			if tc, ok := c.(*net.TCPConn); ok {
				// Reset rather than linger in TIME_WAIT: a flood of
				// refused connections must not cost us ports either.
				_ = tc.SetLinger(0)
			}
			// Reported before the close, so whoever sees the reset can
			// already see the refusal counted.
			if l.onReject != nil {
				l.onReject(c.RemoteAddr(), why)
			}
			_ = c.Close()
			continue
		}
		if victim != nil {
			// Its slot is already ours; closing it ends its server's read.
			if l.onReject != nil {
				l.onReject(victim.RemoteAddr(), ErrEvicted)
			}
			_ = victim.Conn.Close()
		}
		return &conn{Conn: c, l: l, ip: ip}, nil
	}
}

// SetIdle tells the listener whether c, one of its connections (or a TLS
// connection over one), is idle: between requests or before its first.
// Only idle connections are evicted. Connections start busy.
func (l *Listener) SetIdle(c net.Conn, idle bool) {
	for {
		if u, ok := c.(interface{ NetConn() net.Conn }); ok {
			c = u.NetConn()
			continue
		}
		break
	}
	lc, ok := c.(*conn)
	if !ok || lc.l != l {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case lc.released || !idle:
		delete(l.idle, lc)
	default:
		if _, already := l.idle[lc]; !already {
			l.idle[lc] = time.Now()
		}
	}
}

// Open reports the connections open now, in total and from ip.
func (l *Listener) Open(ip netip.Addr) (total, fromIP int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.open, l.byIP[ip.Unmap()]
}

// acquire takes a slot for a connection from ip. At Max with EvictIdle it
// takes the slot of the longest-idle connection, which it returns for the
// caller to close (not under mu).
func (l *Listener) acquire(ip netip.Addr) (victim *conn, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.limits.PerIP > 0 && l.byIP[ip] >= l.limits.PerIP {
		return nil, ErrPerIP
	}
	if l.limits.Max > 0 && l.open >= l.limits.Max {
		if !l.limits.EvictIdle {
			return nil, ErrMax
		}
		for c, since := range l.idle {
			if victim == nil || since.Before(l.idle[victim]) {
				victim = c
			}
		}
		if victim == nil {
			return nil, ErrMax
		}
		l.releaseLocked(victim)
	}
	l.open++
	l.byIP[ip]++
	return victim, nil
}

// releaseLocked gives c's slot back, once.
func (l *Listener) releaseLocked(c *conn) {
	if c.released {
		return
	}
	c.released = true
	delete(l.idle, c)
	l.open--
	if l.byIP[c.ip]--; l.byIP[c.ip] <= 0 {
		delete(l.byIP, c.ip)
	}
}

// sourceIP is the address a connection is counted under: its IP, with an
// IPv4-mapped IPv6 address counted as the IPv4 one. Every address of
// another kind (a Unix socket) shares the zero Addr.
func sourceIP(a net.Addr) netip.Addr {
	switch a := a.(type) {
	case *net.TCPAddr:
		return a.AddrPort().Addr().Unmap()
	case nil:
		return netip.Addr{}
	}
	ap, err := netip.ParseAddrPort(a.String())
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}

// conn gives its slot back once, on the first Close or on eviction.
type conn struct {
	net.Conn
	l        *Listener
	ip       netip.Addr
	released bool // guarded by l.mu
}

func (c *conn) Close() error {
	err := c.Conn.Close()
	c.l.mu.Lock()
	c.l.releaseLocked(c)
	c.l.mu.Unlock()
	return err
}

// CloseWrite lets net/http half-close a TCP connection before closing it
// (so that a client reads an error answer before the reset), as it does
// when the listener hands it a *net.TCPConn.
func (c *conn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}
