package e2e

import (
	"bufio"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/keyraft/keyraft/transport/awsjson"
)

// The tests here reach the server from several loopback addresses: the
// whole of 127/8 is loopback on Linux, and a net.Dialer with LocalAddr picks
// the source.

func dialerFrom(ip string) *net.Dialer {
	return &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
}

// hostPort is the host:port of an http:// API URL.
func hostPort(t *testing.T, api string) string {
	t.Helper()
	u, err := url.Parse(api)
	if err != nil {
		t.Fatal(err)
	}
	return u.Host
}

// kmsClientFrom is kmsClient with its connections made from source ip, a
// fresh pool each, and no retries: a refused connection shows.
func kmsClientFrom(api string, creds initOutput, ip string) *kms.Client {
	tr := &http.Transport{DialContext: dialerFrom(ip).DialContext}
	return kmsClientVia(api, creds, 1, &http.Client{Transport: tr})
}

// hold opens a connection from ip, which the test closes at its end. It
// returns nil when the connection was reset before the dial returned: on
// loopback the server can refuse it that fast.
func hold(t *testing.T, addr, ip string) net.Conn {
	t.Helper()
	c, err := dialerFrom(ip).Dial("tcp", addr)
	if errors.Is(err, syscall.ECONNRESET) {
		return nil
	}
	if err != nil {
		t.Fatalf("dial from %s: %v", ip, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// refused opens a connection from ip and reports whether the server closed
// it at once, rather than keeping it open: waiting for a request, or
// speaking first as a gRPC server does.
func refused(t *testing.T, addr, ip string) bool {
	t.Helper()
	c := hold(t, addr, ip)
	if c == nil {
		return true
	}
	defer c.Close()
	_ = c.SetReadDeadline(time.Now().Add(time.Second))
	_, err := c.Read(make([]byte, 1))
	var ne net.Error
	return err != nil && !(errors.As(err, &ne) && ne.Timeout())
}

// TestConnectionCaps: one address holding the per-address cap (the
// default, 256) cannot open more, while a signed request from another
// address is answered. The listener's own cap (-max-connections) holds
// whatever the addresses: with every connection in the middle of a
// request, a newcomer is refused; with connections merely open and
// silent, the longest-idle one is closed to serve the newcomer. Before,
// the node held every connection it was offered until the process ran out
// of descriptors and refused everyone.
func TestConnectionCaps(t *testing.T) {
	const perIP, maxConns = 256, 320
	// Held connections send nothing, or half a request: give them longer
	// than the test to finish.
	api, _, _, _ := devNodeProc(t, "-max-connections", strconv.Itoa(maxConns), "-http-read-header-timeout", "2m", "-http-read-timeout", "2m")
	creds := credsFor(api)
	addr := hostPort(t, api)
	port := portOf(t, addr)

	var attacker []net.Conn
	for i := 0; i < perIP; i++ {
		c := hold(t, addr, "127.0.0.2")
		if c == nil {
			t.Fatalf("connection %d from 127.0.0.2 reset below the cap of %d", i+1, perIP)
		}
		attacker = append(attacker, c)
	}
	// The accept loop takes connections in order: once the next one is
	// refused, all before it were counted, and the node holds them all.
	if !refused(t, addr, "127.0.0.2") {
		t.Fatalf("127.0.0.2 holds more than %d connections", perIP)
	}
	if n, _ := serverSockets(t, port, "127.0.0.2"); n != perIP {
		t.Fatalf("the node holds %d connections from 127.0.0.2, want its cap of %d", n, perIP)
	}
	// Another address is served meanwhile, through the real SDK.
	key, err := kmsClientFrom(api, creds, "127.0.0.3").CreateKey(ctx10(t), &kms.CreateKeyInput{})
	if err != nil {
		t.Fatalf("a signed request from 127.0.0.3 while 127.0.0.2 holds its cap: %v", err)
	}
	describe := func(from string) error {
		_, err := kmsClientFrom(api, creds, from).DescribeKey(ctx10(t), &kms.DescribeKeyInput{KeyId: key.KeyMetadata.KeyId})
		return err
	}
	for _, c := range attacker {
		c.Close()
	}
	waitFor(t, 10*time.Second, "the node to close 127.0.0.2's connections", func() (bool, error) {
		n, _ := serverSockets(t, port, "127.0.0.2")
		return n == 0, fmt.Errorf("%d open", n)
	})

	// Every slot busy with a request whose body is still coming, from
	// addresses under their own cap: a newcomer is refused.
	half := "POST / HTTP/1.1\r\nHost: " + addr + "\r\nX-Amz-Target: TrentService.ListKeys\r\n" +
		"Content-Type: application/x-amz-json-1.1\r\nContent-Length: 100\r\n\r\n{"
	var busy []net.Conn
	for i := 0; i < maxConns; i++ {
		c := hold(t, addr, fmt.Sprintf("127.0.1.%d", 1+i/32))
		if c == nil {
			t.Fatalf("busy connection %d reset", i+1)
		}
		if _, err := io.WriteString(c, half); err != nil {
			t.Fatal(err)
		}
		busy = append(busy, c)
	}
	waitFor(t, 10*time.Second, fmt.Sprintf("the node to hold %d connections and read their headers", maxConns), func() (bool, error) {
		n, unread := serverSockets(t, port, "")
		return n == maxConns && unread == 0, fmt.Errorf("%d established, %d bytes unread", n, unread)
	})
	if !refused(t, addr, "127.0.0.4") {
		t.Fatalf("a listener holding %d busy connections kept one more", maxConns)
	}
	if err := describe("127.0.0.4"); err == nil {
		t.Fatalf("a listener holding %d busy connections served one more", maxConns)
	}
	for _, c := range busy {
		c.Close()
	}
	waitFor(t, 10*time.Second, "the node to close the busy connections", func() (bool, error) {
		n, _ := serverSockets(t, port, "")
		return n <= 1, fmt.Errorf("%d open", n) // 127.0.0.3's SDK connection may idle on
	})

	// Every slot held open and silent: the longest-idle one makes room, so
	// a newcomer is served and the node still holds no more than its cap.
	for i := 0; i < maxConns; i++ {
		if hold(t, addr, fmt.Sprintf("127.0.2.%d", 1+i/32)) == nil {
			t.Fatalf("idle connection %d reset below the cap", i+1)
		}
	}
	waitFor(t, 10*time.Second, fmt.Sprintf("the node to hold %d connections", maxConns), func() (bool, error) {
		n, _ := serverSockets(t, port, "")
		return n == maxConns, fmt.Errorf("%d established", n)
	})
	if err := describe("127.0.0.4"); err != nil {
		t.Fatalf("a listener full of idle connections did not make room: %v", err)
	}
	if n, _ := serverSockets(t, port, ""); n > maxConns {
		t.Fatalf("the node holds %d connections, cap %d", n, maxConns)
	}
}

func portOf(t *testing.T, addr string) int {
	t.Helper()
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.Atoi(p)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestSlowAndIdleConnectionsClosed: the API listener closes a keep-alive
// connection left idle (-http-idle-timeout), one that sends its headers
// too slowly (-http-read-header-timeout) and one that sends its body too
// slowly (-http-read-timeout). Before, all three stayed open forever.
func TestSlowAndIdleConnectionsClosed(t *testing.T) {
	api, _, _, _ := devNodeProc(t, "-http-idle-timeout", "1s", "-http-read-header-timeout", "1s", "-http-read-timeout", "2s")
	creds := credsFor(api)
	addr := hostPort(t, api)

	// closedWithin reads c to its end and fails unless the server closes it
	// within limit.
	closedWithin := func(what string, c net.Conn, limit time.Duration) {
		t.Helper()
		start := time.Now()
		_ = c.SetReadDeadline(start.Add(limit))
		_, err := io.Copy(io.Discard, c)
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			t.Fatalf("%s: still open after %s", what, limit)
		}
		t.Logf("%s: closed after %s", what, time.Since(start).Round(10*time.Millisecond))
	}

	// Idle after a served request.
	c, err := dialerFrom("127.0.0.2").Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := signedRequest(t, api, creds, "TrentService.ListKeys", "{}").Write(c); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Close {
		t.Fatalf("ListKeys: HTTP %d, close %v", resp.StatusCode, resp.Close)
	}
	closedWithin("an idle keep-alive connection", c, 10*time.Second)

	// Headers that never end.
	c, err = dialerFrom("127.0.0.2").Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := io.WriteString(c, "POST / HTTP/1.1\r\nHost: "+addr+"\r\nX-Amz-Target: TrentService.ListKeys\r\n"); err != nil {
		t.Fatal(err)
	}
	closedWithin("a request whose headers never end", c, 10*time.Second)

	// A body that never ends.
	c, err = dialerFrom("127.0.0.2").Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := io.WriteString(c, "POST / HTTP/1.1\r\nHost: "+addr+"\r\nX-Amz-Target: TrentService.ListKeys\r\n"+
		"Content-Type: application/x-amz-json-1.1\r\nContent-Length: 1000\r\n\r\n{\"Limit\":"); err != nil {
		t.Fatal(err)
	}
	closedWithin("a request whose body never ends", c, 10*time.Second)
}

// serverSockets reads /proc/net/tcp for the established connections to
// local port port from source IPv4 address from ("": any): how many, and
// how many bytes the server has not read yet. A connection the kernel has
// completed but the server not yet accepted counts too.
func serverSockets(t *testing.T, port int, from string) (n, unread int) {
	t.Helper()
	b, err := os.ReadFile("/proc/net/tcp")
	if err != nil {
		t.Fatal(err)
	}
	// /proc/net/tcp writes an IPv4 address as the hex of its 32 bits in
	// host (little-endian) order, and ports in hex.
	wantRemote := ""
	if from != "" {
		ip := net.ParseIP(from).To4()
		wantRemote = strings.ToUpper(hex.EncodeToString([]byte{ip[3], ip[2], ip[1], ip[0]})) + ":"
	}
	wantLocal := fmt.Sprintf(":%04X", port)
	for _, line := range strings.Split(string(b), "\n")[1:] {
		f := strings.Fields(line)
		if len(f) < 5 || f[3] != "01" || !strings.HasSuffix(f[1], wantLocal) || !strings.HasPrefix(f[2], wantRemote) {
			continue
		}
		_, rx, _ := strings.Cut(f[4], ":")
		q, err := strconv.ParseInt(rx, 16, 64)
		if err != nil {
			t.Fatalf("rx_queue %q", f[4])
		}
		n++
		unread += int(q)
	}
	return n, unread
}

// TestSlowBodyAttackIsBounded: 500 connections from one address each send
// all but the last byte of the largest body the API takes, and hold. The
// node keeps only -max-connections-per-ip (32 here) of them, so its
// resident memory grows by at most about 32 bodies, not 500; a signed
// request from another address is answered meanwhile; and the read
// timeout then closes the attacker's connections. Before, every one of
// the 500 was held (about 500 MiB) for as long as the attacker liked.
func TestSlowBodyAttackIsBounded(t *testing.T) {
	const attackers, perIP = 500, 32
	api, _, _, p := devNodeProc(t, "-max-connections-per-ip", strconv.Itoa(perIP), "-http-read-timeout", "10s")
	creds := credsFor(api)
	addr := hostPort(t, api)
	port := portOf(t, addr)
	pid := p.cmd.Process.Pid

	before := procStatusKB(t, pid, "VmRSS")
	head := "POST / HTTP/1.1\r\nHost: " + addr + "\r\nX-Amz-Target: TrentService.Encrypt\r\n" +
		"Content-Type: application/x-amz-json-1.1\r\nContent-Length: " + strconv.Itoa(awsjson.MaxBody) + "\r\n\r\n"
	body := make([]byte, awsjson.MaxBody-1)
	for i := range body {
		body[i] = 'a'
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for i := 0; i < attackers; i++ {
		c, err := dialerFrom("127.0.0.2").DialContext(ctx, "tcp", addr)
		if errors.Is(err, syscall.ECONNRESET) {
			continue // refused before the dial returned
		}
		if err != nil {
			t.Fatalf("attacker %d: %v", i, err)
		}
		defer c.Close()
		// A refused connection fails its write; a kept one takes it all.
		_ = c.SetWriteDeadline(time.Now().Add(10 * time.Second))
		if _, err := io.WriteString(c, head); err == nil {
			_, _ = c.Write(body)
		}
	}
	// The server has read everything its kept connections were sent.
	var held int
	waitFor(t, 20*time.Second, "the node to read the attack's bodies", func() (bool, error) {
		n, unread := serverSockets(t, port, "127.0.0.2")
		held = n
		return unread == 0 && n > 0, fmt.Errorf("%d connections, %d bytes unread", n, unread)
	})
	grown := procStatusKB(t, pid, "VmRSS") - before
	t.Logf("%d attacking connections, %d held; resident memory grew by %d MiB", attackers, held, grown>>10)
	if held > perIP {
		t.Fatalf("the node holds %d connections from 127.0.0.2, cap %d", held, perIP)
	}
	// Each held body costs its bytes, twice at most while its buffer grows,
	// plus the node's own working memory; 500 bodies would be 500 MiB.
	if limit := perIP*2*(awsjson.MaxBody>>10) + 64<<10; grown > limit {
		t.Fatalf("resident memory grew by %d MiB under the attack (limit %d MiB)", grown>>10, limit>>10)
	}
	if _, err := kmsClientFrom(api, creds, "127.0.0.3").ListKeys(ctx10(t), &kms.ListKeysInput{}); err != nil {
		t.Fatalf("a signed request from 127.0.0.3 during the attack: %v", err)
	}
	// The read timeout (10 s here) ends the attack's connections.
	waitFor(t, 40*time.Second, "the node to close the attack's connections", func() (bool, error) {
		n, _ := serverSockets(t, port, "127.0.0.2")
		return n == 0, fmt.Errorf("%d still open", n)
	})
}

// TestClusterListenerBounded: the cluster (gRPC) listener holds at most 128
// connections from one address, and closes within its 10 s handshake
// timeout a connection that never speaks; the nodes' own forwards, from
// their addresses, are served meanwhile. Before, it held every connection
// for as long as the other end liked.
func TestClusterListenerBounded(t *testing.T) {
	const perIP = 128
	c := startUnsealedCluster(t)
	leader := c.waitLeader(15*time.Second, "")
	follower := c.follower(leader)
	port := portOf(t, leader.cluster)

	for i := 0; i < perIP; i++ {
		if hold(t, leader.cluster, "127.0.0.2") == nil {
			t.Fatalf("connection %d from 127.0.0.2 reset below the cap of %d", i+1, perIP)
		}
	}
	if !refused(t, leader.cluster, "127.0.0.2") {
		t.Fatalf("the cluster listener holds more than %d connections from 127.0.0.2", perIP)
	}
	if n, _ := serverSockets(t, port, "127.0.0.2"); n != perIP {
		t.Fatalf("the cluster listener holds %d connections from 127.0.0.2, want %d", n, perIP)
	}
	// A follower's forward reaches the leader meanwhile.
	if _, err := kmsClient(follower.api, c.creds, 1).CreateKey(ctx10(t), &kms.CreateKeyInput{}); err != nil {
		t.Fatalf("CreateKey through follower %s: %v", follower.id, err)
	}
	// Silent connections are dropped after the handshake timeout.
	waitFor(t, 25*time.Second, "the cluster listener to drop silent connections", func() (bool, error) {
		n, _ := serverSockets(t, port, "127.0.0.2")
		return n == 0, fmt.Errorf("%d still open", n)
	})
}
