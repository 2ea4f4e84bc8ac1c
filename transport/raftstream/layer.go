package raftstream

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/raft"

	"github.com/keyraft/keyraft/transport/tlsconfig"
)

// HandshakeTimeout bounds the TLS handshake of an accepted connection, so a
// peer that connects and never authenticates does not hold a goroutine and
// a socket for good.
const HandshakeTimeout = 10 * time.Second

var (
	// ErrNotAdvertisable: the advertised address is not a dialable IP.
	ErrNotAdvertisable = errors.New("raft advertise address must be an IP that is not unspecified")
)

// Layer is a raft.StreamLayer over mutual TLS 1.3.
type Layer struct {
	ln        net.Listener
	advertise net.Addr
	server    *tls.Config
	client    *tls.Config
	cluster   *tlsconfig.Cluster
	// peerID, when set, names the node id raft means to reach at an
	// address ("" when it knows none); Dial then requires the peer's
	// certificate to name it.
	peerID atomic.Pointer[func(raft.ServerAddress) string]
	// handshakeTimeout is HandshakeTimeout; tests shorten it.
	handshakeTimeout time.Duration
}

var _ raft.StreamLayer = (*Layer)(nil)

// Listen binds the raft listener. advertise is the address peers dial (the
// bound one when nil); like raft's TCP transport, it must be a concrete IP.
func Listen(bind string, advertise net.Addr, c *tlsconfig.Cluster) (*Layer, error) {
	ln, err := net.Listen("tcp", bind)
	if err != nil {
		return nil, err
	}
	l := &Layer{ln: ln, advertise: advertise, server: c.ServerConfig(), client: c.ClientConfig(""), cluster: c, handshakeTimeout: HandshakeTimeout}
	if a, ok := l.Addr().(*net.TCPAddr); !ok || a.IP == nil || a.IP.IsUnspecified() {
		ln.Close()
		return nil, fmt.Errorf("%w: %v", ErrNotAdvertisable, l.Addr())
	}
	return l, nil
}

// Accept returns the next connection; its handshake runs on first use,
// within HandshakeTimeout, so that one slow peer does not hold up the
// accept loop. A peer without a valid certificate fails that handshake and
// the transport drops it.
func (l *Layer) Accept() (net.Conn, error) {
	conn, err := l.ln.Accept()
	if err != nil {
		return nil, err
	}
	return &serverConn{Conn: tls.Server(conn, l.server), timeout: l.handshakeTimeout}, nil
}

// NameDialed makes Dial require the certificate of the peer at an address
// to name the node id peerID gives for it (the raft configuration's), so
// that a process holding another node's certificate that binds a voter's
// address (the voter down) is not sent the voter's log or votes.
func (l *Layer) NameDialed(peerID func(raft.ServerAddress) string) { l.peerID.Store(&peerID) }

// Dial connects to a peer's raft listener and completes the handshake: the
// peer must present a certificate that chains to the cluster CA and, with
// NameDialed, names the node id the raft configuration gives the address.
func (l *Layer) Dial(address raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cfg := l.client
	if f := l.peerID.Load(); f != nil {
		if id := (*f)(address); id != "" {
			cfg = l.cluster.ClientConfig(id)
		}
	}
	d := &tls.Dialer{NetDialer: &net.Dialer{Timeout: timeout}, Config: cfg}
	conn, err := d.DialContext(ctx, "tcp", string(address))
	if err != nil {
		return nil, fmt.Errorf("raft dial %s: %w", address, err)
	}
	return conn, nil
}

// Close stops the listener.
func (l *Layer) Close() error { return l.ln.Close() }

// Addr is the advertised address.
func (l *Layer) Addr() net.Addr {
	if l.advertise != nil {
		return l.advertise
	}
	return l.ln.Addr()
}

// serverConn is an accepted connection whose handshake runs, once and
// bounded by its timeout, before its first read or write.
type serverConn struct {
	*tls.Conn
	timeout time.Duration
	once    sync.Once
	err     error
}

func (c *serverConn) handshake() error {
	c.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
		defer cancel()
		if err := c.Conn.HandshakeContext(ctx); err != nil {
			c.err = fmt.Errorf("refused raft connection from %s: %w", c.RemoteAddr(), err)
		}
	})
	return c.err
}

func (c *serverConn) Read(b []byte) (int, error) {
	if err := c.handshake(); err != nil {
		return 0, err
	}
	return c.Conn.Read(b)
}

func (c *serverConn) Write(b []byte) (int, error) {
	if err := c.handshake(); err != nil {
		return 0, err
	}
	return c.Conn.Write(b)
}
