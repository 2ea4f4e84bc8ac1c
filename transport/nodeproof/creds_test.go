package nodeproof

import (
	"context"
	"crypto/ed25519"
	"errors"
	"net"
	"testing"
	"time"

	"google.golang.org/grpc/credentials"

	"github.com/keyraft/keyraft/transport/tlsconfig"
)

func cluster(t *testing.T, ca *tlsconfig.CA, name string) *tlsconfig.Cluster {
	t.Helper()
	certPEM, keyPEM, err := ca.Issue(name, nil)
	if err != nil {
		t.Fatal(err)
	}
	c, err := tlsconfig.NewCluster(ca.CertPEM(), certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// handshake runs a client and a server handshake of the wrapped gRPC
// credentials over a loopback connection and returns the client's error,
// else the server's.
func handshake(t *testing.T, client, server credentials.TransportCredentials) error {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	done := make(chan error, 1)
	go func() {
		sc, err := ln.Accept()
		if err == nil {
			_, _, err = server.ServerHandshake(sc)
			sc.Close()
		}
		done <- err
	}()
	cc, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, _, err = client.ClientHandshake(ctx, "b", cc)
	cc.Close()
	if serr := <-done; err == nil {
		return serr
	}
	return err
}

// TestCredsCheckTheBoundKey: the cluster gRPC client (forwarding, unseal
// shares) reaches a server whose certificate names a bound id only if the
// server proves the bound key; an unbound id passes on its certificate.
func TestCredsCheckTheBoundKey(t *testing.T) {
	realCA, err := tlsconfig.NewCA()
	if err != nil {
		t.Fatal(err)
	}
	a, b := cluster(t, realCA, "a"), cluster(t, realCA, "b")
	_, bKey, _ := ed25519.GenerateKey(nil)
	_, thiefKey, _ := ed25519.GenerateKey(nil)
	_, aKey, _ := ed25519.GenerateKey(nil)
	var boundTo ed25519.PublicKey
	bound := func(id string) (ed25519.PublicKey, bool) {
		if id != "b" || boundTo == nil {
			return nil, false
		}
		return boundTo, true
	}
	client := Creds(credentials.NewTLS(a.ClientConfig("b")), aKey, bound, 2*time.Second)
	realB := Creds(credentials.NewTLS(b.ServerConfig()), bKey, nil, 2*time.Second)
	thief := Creds(credentials.NewTLS(b.ServerConfig()), thiefKey, nil, 2*time.Second)

	if err := handshake(t, client, thief); err != nil {
		t.Fatalf("unbound id: %v", err)
	}
	boundTo = bKey.Public().(ed25519.PublicKey)
	if err := handshake(t, client, realB); err != nil {
		t.Fatalf("b proving its bound key: %v", err)
	}
	if err := handshake(t, client, thief); !errors.Is(err, ErrProof) {
		t.Fatalf("b's certificate with another key: %v, want ErrProof", err)
	}
	plainServer := credentials.NewTLS(b.ServerConfig()) // sends no proof
	if err := handshake(t, client, plainServer); err == nil {
		t.Fatal("a server that sends no proof was accepted")
	}
}

// TestCredsServerChecksTheCaller: the cluster service takes audit events
// and forwarded requests, so the calling node proves its key too: a
// caller with a's certificate but not a's bound key is refused, and so is
// one that reflects the server's own proof.
func TestCredsServerChecksTheCaller(t *testing.T) {
	realCA, err := tlsconfig.NewCA()
	if err != nil {
		t.Fatal(err)
	}
	a, b := cluster(t, realCA, "a"), cluster(t, realCA, "b")
	_, aKey, _ := ed25519.GenerateKey(nil)
	_, bKey, _ := ed25519.GenerateKey(nil)
	_, thiefKey, _ := ed25519.GenerateKey(nil)
	bound := func(id string) (ed25519.PublicKey, bool) {
		switch id {
		case "a":
			return aKey.Public().(ed25519.PublicKey), true
		case "b":
			return bKey.Public().(ed25519.PublicKey), true
		}
		return nil, false
	}
	server := Creds(credentials.NewTLS(b.ServerConfig()), bKey, bound, 2*time.Second)
	if err := handshake(t, Creds(credentials.NewTLS(a.ClientConfig("b")), aKey, bound, 2*time.Second), server); err != nil {
		t.Fatalf("a proving its bound key: %v", err)
	}
	if err := handshake(t, Creds(credentials.NewTLS(a.ClientConfig("b")), thiefKey, bound, 2*time.Second), server); !errors.Is(err, ErrProof) {
		t.Fatalf("a's certificate with another key: %v, want ErrProof", err)
	}
	if err := handshake(t, Creds(credentials.NewTLS(a.ClientConfig("b")), nil, bound, 2*time.Second), server); err == nil {
		t.Fatal("a caller without an identity key was accepted")
	}
}
