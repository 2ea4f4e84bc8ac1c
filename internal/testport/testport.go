// Package testport hands tests loopback ports for the servers they start.
package testport

import (
	"fmt"
	"math/rand/v2"
	"net"
	"sync"
	"testing"
)

// The ports come from below Linux's ephemeral range (32768–60999): a port
// picked from the ephemeral range was free when picked but could be taken,
// before the server bound it, by any outgoing connection on the machine,
// and a started node then failed with "address already in use".
const lowest, span = 20000, 12000

var (
	mu    sync.Mutex
	taken = map[int]bool{}
)

// Take returns a loopback port that is free for TCP and UDP (memberlist
// needs both) and that no other caller in this process has been given.
func Take(t testing.TB) int {
	t.Helper()
	mu.Lock()
	defer mu.Unlock()
	for range 1000 {
		p := lowest + rand.IntN(span)
		if taken[p] {
			continue
		}
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
		if err != nil {
			continue
		}
		u, err := net.ListenPacket("udp", fmt.Sprintf("127.0.0.1:%d", p))
		l.Close()
		if err != nil {
			continue
		}
		u.Close()
		taken[p] = true
		return p
	}
	t.Fatal("no free loopback port below the ephemeral range")
	return 0
}
