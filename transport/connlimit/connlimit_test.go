package connlimit

import (
	"bufio"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/netip"
	"sync"
	"syscall"
	"testing"
	"time"
)

// server accepts on a Listener with limits and greets every connection it
// keeps with "ok\n"; it closes a connection when the client does.
type server struct {
	ln *Listener

	mu       sync.Mutex
	rejected []error
}

func startServer(t *testing.T, limits Limits) *server {
	t.Helper()
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &server{}
	s.ln = New(inner, limits, func(_ net.Addr, why error) {
		s.mu.Lock()
		s.rejected = append(s.rejected, why)
		s.mu.Unlock()
	})
	t.Cleanup(func() { s.ln.Close() })
	go func() {
		for {
			c, err := s.ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				if _, err := c.Write([]byte("ok\n")); err != nil {
					return
				}
				_, _ = io.Copy(io.Discard, c)
			}()
		}
	}()
	return s
}

// dial connects from the loopback address from (the whole of 127/8 is
// loopback on Linux) and reports whether the server kept the connection.
func (s *server) dial(t *testing.T, from string) (net.Conn, bool) {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: 5 * time.Second}
	c, err := d.Dial("tcp", s.ln.Addr().String())
	if errors.Is(err, syscall.ECONNRESET) {
		return nil, false // refused before the dial returned, as loopback allows
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err == nil && line == "ok\n" {
		return c, true
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("from %s: neither greeted nor closed within 5s", from)
	}
	return c, false
}

func (s *server) rejections() []error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]error(nil), s.rejected...)
}

func waitOpen(t *testing.T, l *Listener, ip string, want int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, n := l.Open(netip.MustParseAddr(ip)); n == want {
			return
		} else if time.Now().After(deadline) {
			t.Fatalf("%s holds %d connections, want %d", ip, n, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestPerIP: one address at its cap is refused more, while another
// address is served; a slot freed is a slot given again.
func TestPerIP(t *testing.T) {
	s := startServer(t, Limits{Max: 10, PerIP: 3})
	var held []net.Conn
	for i := 0; i < 3; i++ {
		c, ok := s.dial(t, "127.0.0.2")
		if !ok {
			t.Fatalf("connection %d from 127.0.0.2 refused under the cap", i+1)
		}
		held = append(held, c)
	}
	if _, ok := s.dial(t, "127.0.0.2"); ok {
		t.Fatal("a fourth connection from 127.0.0.2 was kept")
	}
	if r := s.rejections(); len(r) != 1 || r[0] != ErrPerIP {
		t.Fatalf("rejections %v", r)
	}
	for i := 0; i < 3; i++ {
		if _, ok := s.dial(t, "127.0.0.3"); !ok {
			t.Fatalf("127.0.0.3 refused while 127.0.0.2 holds its cap (connection %d)", i+1)
		}
	}
	held[0].Close()
	waitOpen(t, s.ln, "127.0.0.2", 2)
	if _, ok := s.dial(t, "127.0.0.2"); !ok {
		t.Fatal("127.0.0.2 refused after one of its connections closed")
	}
	if total, _ := s.ln.Open(netip.Addr{}); total != 6 {
		t.Fatalf("%d open, want 6", total)
	}
}

// TestMax: the listener's own cap holds whatever the source.
func TestMax(t *testing.T) {
	s := startServer(t, Limits{Max: 2, PerIP: 2})
	if _, ok := s.dial(t, "127.0.0.2"); !ok {
		t.Fatal("first refused")
	}
	if _, ok := s.dial(t, "127.0.0.3"); !ok {
		t.Fatal("second refused")
	}
	if _, ok := s.dial(t, "127.0.0.4"); ok {
		t.Fatal("a third connection was kept by a listener capped at 2")
	}
	if r := s.rejections(); len(r) != 1 || r[0] != ErrMax {
		t.Fatalf("rejections %v", r)
	}
}

// TestNoLimits: zero limits keep everything.
func TestNoLimits(t *testing.T) {
	s := startServer(t, Limits{})
	for i := 0; i < 20; i++ {
		if _, ok := s.dial(t, "127.0.0.2"); !ok {
			t.Fatalf("connection %d refused without limits", i+1)
		}
	}
}

// TestCloseReleasesOnce: closing a connection twice frees one slot.
func TestCloseReleasesOnce(t *testing.T) {
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := New(inner, Limits{Max: 5, PerIP: 5}, nil)
	defer ln.Close()
	done := make(chan net.Conn, 2)
	go func() {
		for i := 0; i < 2; i++ {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			done <- c
		}
	}()
	for i := 0; i < 2; i++ {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
	}
	a, b := <-done, <-done
	_ = a.Close()
	_ = a.Close()
	if total, n := ln.Open(netip.MustParseAddr("127.0.0.1")); total != 1 || n != 1 {
		t.Fatalf("after closing one connection twice: %d open, %d from 127.0.0.1; want 1, 1", total, n)
	}
	if _, ok := b.(interface{ CloseWrite() error }); !ok {
		t.Fatal("the connection lost CloseWrite")
	}
}

// TestSourceIP: an IPv4-mapped IPv6 source counts as the IPv4 address.
func TestSourceIP(t *testing.T) {
	v4 := &net.TCPAddr{IP: net.ParseIP("192.0.2.1"), Port: 1}
	mapped := &net.TCPAddr{IP: net.ParseIP("::ffff:192.0.2.1"), Port: 2}
	if sourceIP(v4) != sourceIP(mapped) || sourceIP(v4) != netip.MustParseAddr("192.0.2.1") {
		t.Fatalf("%v %v", sourceIP(v4), sourceIP(mapped))
	}
	if got := sourceIP(&net.UDPAddr{IP: net.ParseIP("2001:db8::1"), Port: 3}); got != netip.MustParseAddr("2001:db8::1") {
		t.Fatalf("udp addr: %v", got)
	}
	if got := sourceIP(&net.UnixAddr{Name: "/tmp/s", Net: "unix"}); got.IsValid() {
		t.Fatalf("unix addr: %v", got)
	}
}

// TestEvictIdle: at Max, a newcomer takes the slot of the connection idle
// longest; connections marked busy are never cut, and with none idle the
// newcomer is refused. SetIdle sees through a TLS connection.
func TestEvictIdle(t *testing.T) {
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var events []error
	ln := New(inner, Limits{Max: 2, EvictIdle: true}, func(_ net.Addr, why error) {
		mu.Lock()
		events = append(events, why)
		mu.Unlock()
	})
	defer ln.Close()
	accepted := make(chan net.Conn, 8)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted <- c
		}
	}()
	// dial returns the client end and, if the listener handed it over,
	// the server end.
	dial := func() (client, server net.Conn) {
		t.Helper()
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil && !errors.Is(err, syscall.ECONNRESET) {
			t.Fatal(err)
		}
		if c != nil {
			t.Cleanup(func() { c.Close() })
		}
		select {
		case s := <-accepted:
			t.Cleanup(func() { s.Close() })
			return c, s
		case <-time.After(time.Second):
			return c, nil
		}
	}
	closedByServer := func(c net.Conn) bool {
		_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
		_, err := c.Read(make([]byte, 1))
		var ne net.Error
		return err != nil && !(errors.As(err, &ne) && ne.Timeout())
	}

	ca, sa := dial()
	cb, sb := dial()
	if sa == nil || sb == nil {
		t.Fatal("a connection under Max was not handed over")
	}
	// Both busy: a third is refused.
	if _, sc := dial(); sc != nil {
		t.Fatal("a connection was handed over with every slot busy")
	}
	// a idle (through a TLS connection over it), then b: a goes first.
	ln.SetIdle(tls.Server(sa, &tls.Config{}), true)
	ln.SetIdle(sb, true)
	cc, sc := dial()
	if sc == nil {
		t.Fatal("no room made for a newcomer with idle connections open")
	}
	if !closedByServer(ca) {
		t.Fatal("the longest-idle connection was not closed")
	}
	if closedByServer(cb) {
		t.Fatal("the younger idle connection was closed")
	}
	// b busy again: nothing can be evicted.
	ln.SetIdle(sb, false)
	if _, sd := dial(); sd != nil {
		t.Fatal("a busy connection was evicted")
	}
	if total, _ := ln.Open(netip.Addr{}); total != 2 {
		t.Fatalf("%d open, want 2", total)
	}
	// The evicted connection's own Close frees nothing more.
	_ = sa.Close()
	if total, _ := ln.Open(netip.Addr{}); total != 2 {
		t.Fatalf("%d open after the evicted connection closed, want 2", total)
	}
	_ = cc
	mu.Lock()
	defer mu.Unlock()
	want := []error{ErrMax, ErrEvicted, ErrMax}
	if len(events) != len(want) {
		t.Fatalf("events %v, want %v", events, want)
	}
	for i := range want {
		if events[i] != want[i] {
			t.Fatalf("events %v, want %v", events, want)
		}
	}
}
