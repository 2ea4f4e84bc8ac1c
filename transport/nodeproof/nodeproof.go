// Package nodeproof proves, on a cluster TLS connection, that the accepting
// node, and then the dialing node (SendDialer, CheckDialer), holds the
// identity key bound to the node id its certificate names.
// Right after the TLS handshake the acceptor sends an Ed25519 signature of
// the session's exporter secret (RFC 8446 §7.5, label Label); the dialer
// verifies it under the key the replicated state binds to that id. Both
// ends of one session, and no other, compute that secret, so a proof cannot
// be relayed from a connection to the real node. A certificate alone (one
// stolen, without the data dir that holds the key) then reaches nothing
// that the id's owner would be sent: not the raft log, not an unseal share.
package nodeproof

import (
	"crypto/ed25519"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"time"
)

// Label names the exporter secret the accepting node's proof signs.
const Label = "keyraft raft identity"

// DialerLabel names the exporter secret the dialing node's proof signs
// (raft connections prove both ends). A second label keeps one end from
// reflecting the other's proof back at it as its own.
const DialerLabel = "keyraft raft identity of the dialer"

// Size is the length of a proof on the wire.
const Size = ed25519.SignatureSize

// ErrProof: the peer did not prove the identity bound to its node id.
var ErrProof = errors.New("identity proof failed: the peer holds the certificate of the node id but not the identity key bound to it (a stolen certificate, or a new data dir under a bound id)")

// BoundKey gives the identity key bound to a node id, false when the id is
// bound to none (a cluster's first voters until a leader binds them; they
// are trusted on their certificate alone).
type BoundKey func(id string) (ed25519.PublicKey, bool)

func secret(cs tls.ConnectionState, label string) ([]byte, error) {
	return cs.ExportKeyingMaterial(label, nil, 32)
}

// Send writes the accepting node's proof of key for the session cs to conn.
func Send(conn net.Conn, cs tls.ConnectionState, key ed25519.PrivateKey, timeout time.Duration) error {
	return send(conn, cs, key, timeout, Label)
}

// SendDialer writes the dialing node's proof.
func SendDialer(conn net.Conn, cs tls.ConnectionState, key ed25519.PrivateKey, timeout time.Duration) error {
	return send(conn, cs, key, timeout, DialerLabel)
}

// Check reads the accepting node's proof from conn and, if the node id its
// certificate names is bound, verifies it under the bound key.
func Check(conn net.Conn, cs tls.ConnectionState, bound BoundKey, timeout time.Duration) error {
	return check(conn, cs, bound, timeout, Label)
}

// CheckDialer reads and verifies the dialing node's proof.
func CheckDialer(conn net.Conn, cs tls.ConnectionState, bound BoundKey, timeout time.Duration) error {
	return check(conn, cs, bound, timeout, DialerLabel)
}

func send(conn net.Conn, cs tls.ConnectionState, key ed25519.PrivateKey, timeout time.Duration, label string) error {
	if len(key) != ed25519.PrivateKeySize {
		return fmt.Errorf("identity proof to %s: this node has no identity key", conn.RemoteAddr())
	}
	msg, err := secret(cs, label)
	if err == nil {
		_ = conn.SetWriteDeadline(time.Now().Add(timeout))
		_, err = conn.Write(ed25519.Sign(key, msg))
		_ = conn.SetWriteDeadline(time.Time{})
	}
	if err != nil {
		return fmt.Errorf("identity proof to %s: %w", conn.RemoteAddr(), err)
	}
	return nil
}

func check(conn net.Conn, cs tls.ConnectionState, bound BoundKey, timeout time.Duration, label string) error {
	sig := make([]byte, Size)
	_ = conn.SetReadDeadline(time.Now().Add(timeout))
	if _, err := io.ReadFull(conn, sig); err != nil {
		return fmt.Errorf("identity proof: %w", err)
	}
	_ = conn.SetReadDeadline(time.Time{})
	if bound == nil || len(cs.PeerCertificates) == 0 {
		return nil
	}
	id := cs.PeerCertificates[0].Subject.CommonName
	pub, ok := bound(id)
	if !ok {
		return nil
	}
	msg, err := secret(cs, label)
	if err != nil {
		return fmt.Errorf("identity proof: %w", err)
	}
	if len(pub) != ed25519.PublicKeySize || !ed25519.Verify(pub, msg, sig) {
		return fmt.Errorf("node id %s: %w", id, ErrProof)
	}
	return nil
}
