package cluster

import (
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
)

// A follower that is down when the leader appends gets the append as soon
// as it listens again, with no error for raft to back off on.
func TestPromptTransportWaitsForThePeerToListen(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	peer := l.Addr().String()
	l.Close() // the peer is down

	stop := make(chan struct{})
	defer close(stop)
	nt, err := raft.NewTCPTransportWithLogger("127.0.0.1:0", nil, 2, time.Second, hclog.NewNullLogger())
	if err != nil {
		t.Fatal(err)
	}
	defer nt.Close()
	tr := &promptTransport{NetworkTransport: nt, stop: stop}

	done := make(chan error, 1)
	go func() {
		var resp raft.AppendEntriesResponse
		done <- tr.AppendEntries("p", raft.ServerAddress(peer), &raft.AppendEntriesRequest{Term: 7}, &resp)
	}()
	select {
	case err := <-done:
		t.Fatalf("the append returned while the peer was down: %v", err)
	case <-time.After(3 * promptProbe):
	}

	addr, err := net.ResolveTCPAddr("tcp", peer)
	if err != nil {
		t.Fatal(err)
	}
	up, err := raft.NewTCPTransportWithLogger(peer, addr, 2, time.Second, hclog.NewNullLogger())
	if err != nil {
		t.Fatal(err)
	}
	defer up.Close()
	back := time.Now()
	select {
	case rpc := <-up.Consumer():
		if req, ok := rpc.Command.(*raft.AppendEntriesRequest); !ok || req.Term != 7 {
			t.Fatalf("the peer got %#v", rpc.Command)
		}
		rpc.Respond(&raft.AppendEntriesResponse{Term: 7, Success: true}, nil)
	case <-time.After(5 * time.Second):
		t.Fatal("the peer never got the append")
	}
	if err := <-done; err != nil {
		t.Fatalf("the append failed once the peer was back: %v", err)
	}
	t.Logf("delivered %s after the peer listened", time.Since(back).Round(time.Millisecond))
}

// The wait ends with the node: raft's shutdown waits for its replication
// goroutines.
func TestPromptTransportStopsWithTheNode(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	peer := l.Addr().String()
	l.Close()
	nt, err := raft.NewTCPTransportWithLogger("127.0.0.1:0", nil, 2, time.Second, hclog.NewNullLogger())
	if err != nil {
		t.Fatal(err)
	}
	defer nt.Close()
	stop := make(chan struct{})
	tr := &promptTransport{NetworkTransport: nt, stop: stop}
	done := make(chan error, 1)
	go func() {
		var resp raft.AppendEntriesResponse
		done <- tr.AppendEntries("p", raft.ServerAddress(peer), &raft.AppendEntriesRequest{}, &resp)
	}()
	close(stop)
	select {
	case err := <-done:
		if err == nil || !isDialError(err) {
			t.Fatalf("after stop: %v, want the dial error", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the append still waits after the node stopped")
	}
}

// A peer that came back at another address is no longer waited for at the
// old one: raft gets the error and dials the new address.
func TestPromptTransportGivesUpOnAMovedPeer(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	peer := l.Addr().String()
	l.Close()
	nt, err := raft.NewTCPTransportWithLogger("127.0.0.1:0", nil, 2, time.Second, hclog.NewNullLogger())
	if err != nil {
		t.Fatal(err)
	}
	defer nt.Close()
	stop := make(chan struct{})
	defer close(stop)
	var moved atomic.Bool
	tr := &promptTransport{NetworkTransport: nt, stop: stop, moved: func(id raft.ServerID, target raft.ServerAddress) bool {
		return id == "p" && target == raft.ServerAddress(peer) && moved.Load()
	}}
	done := make(chan error, 1)
	go func() {
		var resp raft.AppendEntriesResponse
		done <- tr.AppendEntries("p", raft.ServerAddress(peer), &raft.AppendEntriesRequest{}, &resp)
	}()
	select {
	case err := <-done:
		t.Fatalf("the append returned before the peer moved: %v", err)
	case <-time.After(3 * promptProbe):
	}
	moved.Store(true)
	select {
	case err := <-done:
		if !isDialError(err) {
			t.Fatalf("after the move: %v, want the dial error", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the append still waits at the old address")
	}
}
