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
package connlimit

import (
	"errors"
	"net"
	"net/netip"
	"sync"
)

// Limits are the caps of one listener; zero means no cap.
type Limits struct {
	Max   int // connections open at once
	PerIP int // connections open at once from one source IP
}

// Why a connection was refused.
var (
	ErrMax   = errors.New("the listener holds its maximum of connections")
	ErrPerIP = errors.New("the source address holds its maximum of connections")
)

// Listener is a net.Listener that enforces Limits.
type Listener struct {
	net.Listener
	limits Limits
	// onReject, when set, hears of every refused connection; it runs on
	// the accepting goroutine, so it must not block.
	onReject func(remote net.Addr, why error)

	mu   sync.Mutex
	open int                // guarded by mu
	byIP map[netip.Addr]int // open connections per source; guarded by mu
}

// New wraps ln. onReject may be nil.
func New(ln net.Listener, limits Limits, onReject func(remote net.Addr, why error)) *Listener {
	return &Listener{Listener: ln, limits: limits, onReject: onReject, byIP: make(map[netip.Addr]int)}
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
		if why := l.acquire(ip); why != nil {
			if tc, ok := c.(*net.TCPConn); ok {
				// Reset rather than linger in TIME_WAIT: a flood of
				// refused connections must not cost us ports either.
				_ = tc.SetLinger(0)
			}
			_ = c.Close()
			if l.onReject != nil {
				l.onReject(c.RemoteAddr(), why)
			}
			continue
		}
		lc := &conn{Conn: c}
		lc.release = func() { l.release(ip) }
		return lc, nil
	}
}

// Open reports the connections open now, in total and from ip.
func (l *Listener) Open(ip netip.Addr) (total, fromIP int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.open, l.byIP[ip.Unmap()]
}

func (l *Listener) acquire(ip netip.Addr) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.limits.Max > 0 && l.open >= l.limits.Max {
		return ErrMax
	}
	if l.limits.PerIP > 0 && l.byIP[ip] >= l.limits.PerIP {
		return ErrPerIP
	}
	l.open++
	l.byIP[ip]++
	return nil
}

func (l *Listener) release(ip netip.Addr) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.open--
	if l.byIP[ip]--; l.byIP[ip] <= 0 {
		delete(l.byIP, ip)
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

// conn gives its slot back once, on the first Close.
type conn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *conn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
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
