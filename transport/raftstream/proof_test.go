package raftstream

import (
	"crypto/ed25519"
	"crypto/tls"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"

	"github.com/keyraft/keyraft/transport/nodeproof"
	"github.com/keyraft/keyraft/transport/tlsconfig"
)

func newKey(t *testing.T) ed25519.PrivateKey {
	t.Helper()
	_, k, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// newProvingTransport is newTransport whose layer proves key and checks
// the proofs of the peers it dials against bound.
func newProvingTransport(t *testing.T, c *tlsconfig.Cluster, key ed25519.PrivateKey, bound *sync.Map) *raft.NetworkTransport {
	t.Helper()
	layer, err := Listen("127.0.0.1:0", nil, c)
	if err != nil {
		t.Fatal(err)
	}
	layer.Prove(key)
	layer.RequireBound(func(id string) (ed25519.PublicKey, bool) {
		v, ok := bound.Load(id)
		if !ok {
			return nil, false
		}
		return v.(ed25519.PublicKey), true
	})
	trans := raft.NewNetworkTransportWithConfig(&raft.NetworkTransportConfig{
		Stream: layer, MaxPool: 2, Timeout: 2 * time.Second, Logger: hclog.NewNullLogger(),
	})
	t.Cleanup(func() { trans.Close() })
	return trans
}

// rogueServer accepts raft connections with c's certificate and answers
// each with the proof that proof gives for it, then closes it.
func rogueServer(t *testing.T, c *tlsconfig.Cluster, proof func(*tls.Conn) []byte) raft.ServerAddress {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", c.ServerConfig())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			tc := conn.(*tls.Conn)
			if tc.Handshake() == nil {
				_, _ = tc.Write(proof(tc))
				_, _ = io.Copy(io.Discard, tc) // until the dialer hangs up
			}
			tc.Close()
		}
	}()
	return raft.ServerAddress(ln.Addr().String())
}

// TestDialRequiresTheBoundIdentity: once a node id is bound to an identity
// key, a dialed peer with that id's certificate gets a raft RPC only if it
// proves the key on the connection: not with another key, not with a bad
// signature, and not by relaying the proof the real node gives on another
// connection. An id bound to none is trusted on its certificate.
func TestDialRequiresTheBoundIdentity(t *testing.T) {
	ca := mustCA(t)
	var bound sync.Map
	bKey := newKey(t)
	a := newProvingTransport(t, newCluster(t, ca, "a"), newKey(t), &bound)
	bCert := newCluster(t, ca, "b") // also the thief's, stolen
	b := newProvingTransport(t, bCert, bKey, &bound)
	votes := serveVotes(b)

	// Unbound: the certificate is enough, as in a new cluster's first moments.
	if resp, err := requestVote(a, b.LocalAddr()); err != nil || !resp.Granted {
		t.Fatalf("b unbound: %+v %v", resp, err)
	}
	bound.Store("b", bKey.Public())
	if resp, err := requestVote(a, b.LocalAddr()); err != nil || !resp.Granted {
		t.Fatalf("b bound to its key: %+v %v", resp, err)
	}
	if got := votes.Load(); got != 2 {
		t.Fatalf("b saw %d votes, want 2", got)
	}

	// Another process with b's certificate but its own identity key (a new
	// data dir): a real layer, so it proves, but not b's key.
	thief := newProvingTransport(t, bCert, newKey(t), &bound)
	thiefVotes := serveVotes(thief)
	refused := func(what string, addr raft.ServerAddress) {
		t.Helper()
		if _, err := requestVote(a, addr); err == nil || !strings.Contains(err.Error(), "identity proof") {
			t.Errorf("%s: %v, want the identity proof refused", what, err)
		} else {
			t.Logf("%s: %v", what, err)
		}
	}
	refused("b's certificate, another key", thief.LocalAddr())
	if got := thiefVotes.Load(); got != 0 {
		t.Errorf("the thief's raft saw %d requests", got)
	}

	// A signature that is not one.
	refused("a bad signature", rogueServer(t, bCert, func(*tls.Conn) []byte {
		return make([]byte, ed25519.SignatureSize)
	}))
	// b's key signing another session's secret: what a stolen proof is.
	refused("b's signature of another secret", rogueServer(t, bCert, func(*tls.Conn) []byte {
		return ed25519.Sign(bKey, make([]byte, 32))
	}))
	// Relay: the rogue dials the real b with b's certificate and passes on
	// the proof b gives on that connection.
	refused("a proof relayed from the real b", rogueServer(t, bCert, func(*tls.Conn) []byte {
		conn, err := tls.Dial("tcp", string(b.LocalAddr()), bCert.ClientConfig("b"))
		if err != nil {
			t.Errorf("relay dial: %v", err)
			return nil
		}
		defer conn.Close()
		_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
		sig := make([]byte, ed25519.SignatureSize)
		if _, err := io.ReadFull(conn, sig); err != nil {
			t.Errorf("relay read: %v", err)
		}
		if !ed25519.Verify(bKey.Public().(ed25519.PublicKey), func() []byte {
			cs := conn.ConnectionState()
			m, _ := cs.ExportKeyingMaterial(nodeproof.Label, nil, 32)
			return m
		}(), sig) {
			t.Error("the real b's proof on the relay connection does not verify: the relay test proves nothing")
		}
		return sig
	}))

	// The real b still answers.
	if resp, err := requestVote(a, b.LocalAddr()); err != nil || !resp.Granted {
		t.Fatalf("b after the rogues: %+v %v", resp, err)
	}
}

// TestAcceptRequiresTheBoundIdentity: the dialer proves its identity too,
// since whoever dials sends AppendEntries: a process holding a's
// certificate but not a's key reaches no raft consumer, and neither does
// one that reflects the acceptor's own proof back at it.
func TestAcceptRequiresTheBoundIdentity(t *testing.T) {
	ca := mustCA(t)
	var bound sync.Map
	aKey, bKey := newKey(t), newKey(t)
	aCert, bCert := newCluster(t, ca, "a"), newCluster(t, ca, "b")
	a := newProvingTransport(t, aCert, aKey, &bound)
	b := newProvingTransport(t, bCert, bKey, &bound)
	votes := serveVotes(b)
	bound.Store("a", aKey.Public())
	bound.Store("b", bKey.Public())
	if resp, err := requestVote(a, b.LocalAddr()); err != nil || !resp.Granted {
		t.Fatalf("a, bound to its key, to b: %+v %v", resp, err)
	}

	// a's stolen certificate with another key: b answers nothing.
	thief := newProvingTransport(t, aCert, newKey(t), &bound)
	if _, err := requestVote(thief, b.LocalAddr()); err == nil {
		t.Error("a dialer with a's certificate but not a's key got an answer")
	}

	// b's own certificate, reflecting b's proof back as the dialer's.
	conn, err := tls.Dial("tcp", string(b.LocalAddr()), bCert.ClientConfig("b"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	sig := make([]byte, ed25519.SignatureSize)
	if _, err := io.ReadFull(conn, sig); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Write(sig); err != nil {
		t.Fatal(err)
	}
	// Accepted, b would wait for an RPC until the deadline; refused, it
	// hangs up at once.
	if _, err := conn.Read(make([]byte, 1)); err == nil || strings.Contains(err.Error(), "timeout") {
		t.Errorf("a reflected proof was not refused: %v", err)
	}
	if got := votes.Load(); got != 1 {
		t.Errorf("b's raft saw %d requests, want only a's", got)
	}
}
