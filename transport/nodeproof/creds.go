package nodeproof

import (
	"context"
	"crypto/ed25519"
	"crypto/tls"
	"fmt"
	"net"
	"time"

	"google.golang.org/grpc/credentials"
)

// Creds wraps the cluster's gRPC TLS credentials: on each connection the
// server proves key and the client checks that proof against bound, then
// the client proves its key and the server checks it (bound nil: the proof
// is read and nothing checked).
func Creds(tlsCreds credentials.TransportCredentials, key ed25519.PrivateKey, bound BoundKey, timeout time.Duration) credentials.TransportCredentials {
	return &creds{TransportCredentials: tlsCreds, key: key, bound: bound, timeout: timeout}
}

type creds struct {
	credentials.TransportCredentials
	key     ed25519.PrivateKey
	bound   BoundKey
	timeout time.Duration
}

func (c *creds) ClientHandshake(ctx context.Context, authority string, raw net.Conn) (net.Conn, credentials.AuthInfo, error) {
	conn, info, err := c.TransportCredentials.ClientHandshake(ctx, authority, raw)
	if err != nil {
		return nil, nil, err
	}
	// The server proves its key first; then the caller proves its own: the
	// cluster service takes audit events and forwarded requests, which a
	// certificate alone must not be able to offer.
	return exchange(conn, info, func(cs tls.ConnectionState) error { return Check(conn, cs, c.bound, c.timeout) },
		func(cs tls.ConnectionState) error { return SendDialer(conn, cs, c.key, c.timeout) })
}

func (c *creds) ServerHandshake(raw net.Conn) (net.Conn, credentials.AuthInfo, error) {
	conn, info, err := c.TransportCredentials.ServerHandshake(raw)
	if err != nil {
		return nil, nil, err
	}
	return exchange(conn, info, func(cs tls.ConnectionState) error { return Send(conn, cs, c.key, c.timeout) },
		func(cs tls.ConnectionState) error { return CheckDialer(conn, cs, c.bound, c.timeout) })
}

// exchange runs one end's two proof steps, in order, on a TLS connection
// gRPC has just completed, closing it if one fails.
func exchange(conn net.Conn, info credentials.AuthInfo, first, second func(tls.ConnectionState) error) (net.Conn, credentials.AuthInfo, error) {
	ti, ok := info.(credentials.TLSInfo)
	if !ok {
		conn.Close()
		return nil, nil, fmt.Errorf("identity proof: not a TLS connection")
	}
	for _, step := range []func(tls.ConnectionState) error{first, second} {
		if err := step(ti.State); err != nil {
			conn.Close()
			return nil, nil, err
		}
	}
	return conn, info, nil
}

func (c *creds) Clone() credentials.TransportCredentials {
	return &creds{TransportCredentials: c.TransportCredentials.Clone(), key: c.key, bound: c.bound, timeout: c.timeout}
}
