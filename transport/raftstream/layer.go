package raftstream

import (
	"context"
	"crypto/ed25519"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/raft"

	"github.com/keyraft/keyraft/transport/nodeproof"
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
	// identity, when set, signs each accepted connection's channel
	// binding (Prove); boundKey gives the identity key bound to a node id.
	identity atomic.Pointer[ed25519.PrivateKey]
	boundKey atomic.Pointer[nodeproof.BoundKey]
	// handshakeTimeout is HandshakeTimeout; tests shorten it.
	handshakeTimeout time.Duration
}

// Prove makes the layer prove key on every accepted connection: right after
// the TLS handshake it sends ed25519.SignatureSize bytes, the signature of
// the session's exporter secret. Every layer of a cluster must prove, as
// every dialer reads the proof.
func (l *Layer) Prove(key ed25519.PrivateKey) { l.identity.Store(&key) }

// RequireBound makes Dial refuse a peer whose certificate names a node id
// that boundKey binds to an identity, unless the peer's proof verifies
// under that key. An id bound to none (a new cluster's first moments, until
// the leader binds its voters) is trusted on its certificate alone.
func (l *Layer) RequireBound(boundKey nodeproof.BoundKey) { l.boundKey.Store(&boundKey) }

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
	var key ed25519.PrivateKey
	if k := l.identity.Load(); k != nil {
		key = *k
	}
	var bound nodeproof.BoundKey
	if f := l.boundKey.Load(); f != nil {
		bound = *f
	}
	return &serverConn{Conn: tls.Server(conn, l.server), timeout: l.handshakeTimeout, key: key, bound: bound}, nil
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
	if l.identity.Load() == nil {
		return conn, nil
	}
	if err := l.checkProof(conn.(*tls.Conn), timeout); err != nil {
		conn.Close()
		return nil, fmt.Errorf("raft dial %s: %w", address, err)
	}
	// The dialer proves its own identity too: whoever dials sends
	// AppendEntries, so a certificate alone must not be able to act as
	// a leader towards a node.
	if err := nodeproof.SendDialer(conn, conn.(*tls.Conn).ConnectionState(), *l.identity.Load(), timeout); err != nil {
		conn.Close()
		return nil, fmt.Errorf("raft dial %s: %w", address, err)
	}
	return conn, nil
}

// checkProof reads the peer's identity proof (nodeproof.Check).
func (l *Layer) checkProof(conn *tls.Conn, timeout time.Duration) error {
	var bound nodeproof.BoundKey
	if f := l.boundKey.Load(); f != nil {
		bound = *f
	}
	if err := nodeproof.Check(conn, conn.ConnectionState(), bound, timeout); err != nil {
		return fmt.Errorf("raft %w", err)
	}
	return nil
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
	key     ed25519.PrivateKey // nil: no proof sent, none asked for
	bound   nodeproof.BoundKey // the keys a dialer's proof is checked under
	once    sync.Once
	err     error
}

func (c *serverConn) handshake() error {
	c.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
		defer cancel()
		if err := c.Conn.HandshakeContext(ctx); err != nil {
			c.err = fmt.Errorf("refused raft connection from %s: %w", c.RemoteAddr(), err)
			return
		}
		if c.key != nil {
			if c.err = c.prove(); c.err != nil {
				return
			}
			if err := nodeproof.CheckDialer(c.Conn, c.Conn.ConnectionState(), c.bound, c.timeout); err != nil {
				c.err = fmt.Errorf("refused raft connection from %s: raft %w", c.RemoteAddr(), err)
			}
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

// prove sends this node's identity proof (nodeproof.Send).
func (c *serverConn) prove() error {
	if err := nodeproof.Send(c.Conn, c.Conn.ConnectionState(), c.key, c.timeout); err != nil {
		return fmt.Errorf("raft %w", err)
	}
	return nil
}
