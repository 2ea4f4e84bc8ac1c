package nodeproof

import (
	"context"
	"crypto/ed25519"
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
	ti, ok := info.(credentials.TLSInfo)
	if !ok {
		conn.Close()
		return nil, nil, fmt.Errorf("identity proof: not a TLS connection")
	}
	if err := Check(conn, ti.State, c.bound, c.timeout); err != nil {
		conn.Close()
		return nil, nil, err
	}
	// The caller proves its own key too: the cluster service takes audit
	// events and forwarded requests, which a certificate alone must not
	// be able to offer.
	if err := SendDialer(conn, ti.State, c.key, c.timeout); err != nil {
		conn.Close()
		return nil, nil, err
	}
	return conn, info, nil
}

func (c *creds) ServerHandshake(raw net.Conn) (net.Conn, credentials.AuthInfo, error) {
	conn, info, err := c.TransportCredentials.ServerHandshake(raw)
	if err != nil {
		return nil, nil, err
	}
	ti, ok := info.(credentials.TLSInfo)
	if !ok {
		conn.Close()
		return nil, nil, fmt.Errorf("identity proof: not a TLS connection")
	}
	if err := Send(conn, ti.State, c.key, c.timeout); err != nil {
		conn.Close()
		return nil, nil, err
	}
	if err := CheckDialer(conn, ti.State, c.bound, c.timeout); err != nil {
		conn.Close()
		return nil, nil, err
	}
	return conn, info, nil
}

func (c *creds) Clone() credentials.TransportCredentials {
	return &creds{TransportCredentials: c.TransportCredentials.Clone(), key: c.key, bound: c.bound, timeout: c.timeout}
}
