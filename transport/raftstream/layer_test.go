package raftstream

import (
	"crypto/tls"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"

	"github.com/keyraft/keyraft/transport/tlsconfig"
)

func newCluster(t *testing.T, ca *tlsconfig.CA, name string) *tlsconfig.Cluster {
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

// newTransport is a raft NetworkTransport over the TLS stream layer on a
// loopback port.
func newTransport(t *testing.T, c *tlsconfig.Cluster) *raft.NetworkTransport {
	t.Helper()
	layer, err := Listen("127.0.0.1:0", nil, c)
	if err != nil {
		t.Fatal(err)
	}
	trans := raft.NewNetworkTransportWithConfig(&raft.NetworkTransportConfig{
		Stream: layer, MaxPool: 2, Timeout: 2 * time.Second, Logger: hclog.NewNullLogger(),
	})
	t.Cleanup(func() { trans.Close() })
	return trans
}

// serveVotes grants every vote request trans receives and counts them.
func serveVotes(trans *raft.NetworkTransport) *atomic.Int32 {
	var n atomic.Int32
	go func() {
		for rpc := range trans.Consumer() {
			n.Add(1)
			rpc.Respond(&raft.RequestVoteResponse{Term: 1, Granted: true}, nil)
		}
	}()
	return &n
}

func requestVote(from raft.Transport, to raft.ServerAddress) (*raft.RequestVoteResponse, error) {
	var resp raft.RequestVoteResponse
	err := from.RequestVote("b", to, &raft.RequestVoteRequest{Term: 1, LastLogIndex: 1}, &resp)
	return &resp, err
}

// TestStreamLayerRefusesStrangers runs raft RPCs over real sockets: between
// two nodes of one CA they pass; from a plaintext transport, a TLS client
// without a certificate, and a node of another CA they fail, in either
// direction, and never reach the raft consumer.
func TestStreamLayerRefusesStrangers(t *testing.T) {
	ca, other := mustCA(t), mustCA(t)
	a := newTransport(t, newCluster(t, ca, "a"))
	b := newTransport(t, newCluster(t, ca, "b"))
	rogue := newTransport(t, newCluster(t, other, "b"))
	votesB := serveVotes(b)
	votesRogue := serveVotes(rogue)

	// Plain raft over TCP.
	plain, err := raft.NewTCPTransportWithLogger("127.0.0.1:0", nil, 2, 2*time.Second, hclog.NewNullLogger())
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	if _, err := requestVote(plain, b.LocalAddr()); err == nil {
		t.Error("a plaintext raft transport got an answer")
	}

	// TLS without a client certificate.
	conn, err := tls.Dial("tcp", string(b.LocalAddr()), &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS13})
	if err == nil {
		_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err = conn.Write([]byte{0}); err == nil {
			_, err = conn.Read(make([]byte, 1))
		}
		conn.Close()
	}
	if err == nil || !strings.Contains(err.Error(), "certificate required") {
		t.Errorf("a TLS client without a certificate: %v", err)
	} else {
		t.Logf("no certificate: %v", err)
	}

	// A certificate of another CA, from a client that does not check the
	// server: only the server's check stands in its way.
	stranger := newCluster(t, other, "a").ClientConfig("")
	stranger.VerifyConnection = nil
	conn, err = tls.Dial("tcp", string(b.LocalAddr()), stranger)
	if err == nil {
		_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err = conn.Write([]byte{0}); err == nil {
			_, err = conn.Read(make([]byte, 1))
		}
		conn.Close()
	}
	if err == nil || !strings.Contains(err.Error(), "unknown certificate authority") {
		t.Errorf("a client certificate of another CA: %v", err)
	} else {
		t.Logf("client certificate of another CA: %v", err)
	}

	// A node of another CA, dialing in and dialed.
	if _, err := requestVote(rogue, b.LocalAddr()); err == nil {
		t.Error("a node of another CA got an answer")
	} else {
		t.Logf("other CA dialing in: %v", err)
	}
	if _, err := requestVote(b, rogue.LocalAddr()); err == nil {
		t.Error("a node dialed a server of another CA")
	} else {
		t.Logf("dialing a node of another CA: %v", err)
	}

	// Same CA: the vote goes through, after all those refusals.
	resp, err := requestVote(a, b.LocalAddr())
	if err != nil || !resp.Granted {
		t.Fatalf("same-CA RequestVote: %+v %v", resp, err)
	}
	if got := votesB.Load(); got != 1 {
		t.Errorf("b's raft saw %d requests, want only the same-CA one", got)
	}
	if got := votesRogue.Load(); got != 0 {
		t.Errorf("the rogue's raft saw %d requests", got)
	}
}

// TestHandshakeTimeout: a peer that connects and sends nothing is dropped.
func TestHandshakeTimeout(t *testing.T) {
	layer, err := Listen("127.0.0.1:0", nil, newCluster(t, mustCA(t), "a"))
	if err != nil {
		t.Fatal(err)
	}
	defer layer.Close()
	layer.handshakeTimeout = 300 * time.Millisecond
	conn, err := net.Dial("tcp", layer.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	accepted, err := layer.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer accepted.Close()
	start := time.Now()
	if _, err := accepted.Read(make([]byte, 1)); err == nil {
		t.Fatal("read from a silent peer succeeded")
	}
	if took := time.Since(start); took < layer.handshakeTimeout || took > layer.handshakeTimeout+5*time.Second {
		t.Fatalf("silent peer dropped after %s, want ~%s", took, layer.handshakeTimeout)
	}
}

func TestListenRefusesUnspecifiedAdvertise(t *testing.T) {
	_, err := Listen("127.0.0.1:0", &net.TCPAddr{IP: net.IPv4zero, Port: 1}, newCluster(t, mustCA(t), "a"))
	if err == nil {
		t.Fatal("0.0.0.0 was accepted as the advertised address")
	}
}

func mustCA(t *testing.T) *tlsconfig.CA {
	t.Helper()
	ca, err := tlsconfig.NewCA()
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

// TestNameDialedRequiresTheConfiguredID: with NameDialed, a dial succeeds
// only if the peer's certificate names the id given for its address, so a
// node holding another node's certificate at a voter's address gets no RPC.
func TestNameDialedRequiresTheConfiguredID(t *testing.T) {
	ca := mustCA(t)
	b := newTransport(t, newCluster(t, ca, "b"))
	votes := serveVotes(b)
	layer, err := Listen("127.0.0.1:0", nil, newCluster(t, ca, "a"))
	if err != nil {
		t.Fatal(err)
	}
	a := raft.NewNetworkTransportWithConfig(&raft.NetworkTransportConfig{
		Stream: layer, MaxPool: 2, Timeout: 2 * time.Second, Logger: hclog.NewNullLogger(),
	})
	t.Cleanup(func() { a.Close() })

	var want atomic.Value
	want.Store("c")
	layer.NameDialed(func(addr raft.ServerAddress) string {
		if addr == b.LocalAddr() {
			return want.Load().(string)
		}
		return ""
	})
	if _, err := requestVote(a, b.LocalAddr()); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("dialing b's address as c: %v, want a certificate error", err)
	} else {
		t.Logf("b's address as c: %v", err)
	}
	if got := votes.Load(); got != 0 {
		t.Fatalf("b answered %d requests meant for c", got)
	}
	want.Store("b")
	if resp, err := requestVote(a, b.LocalAddr()); err != nil || !resp.Granted {
		t.Fatalf("dialing b as b: %+v %v", resp, err)
	}
}
