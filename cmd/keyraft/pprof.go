package main

import (
	"fmt"
	"net"
)

// checkLoopback accepts a listen address only if its host is, and resolves
// only to, loopback addresses: /debug/pprof hands out heap profiles, which
// hold whatever secrets the heap held.
func checkLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	if host == "" {
		return fmt.Errorf("%q listens on every interface; give a loopback address such as 127.0.0.1:6060", addr)
	}
	ips := []net.IP{net.ParseIP(host)}
	if ips[0] == nil {
		if ips, err = net.LookupIP(host); err != nil {
			return fmt.Errorf("resolve %q: %w", host, err)
		}
	}
	if len(ips) == 0 {
		return fmt.Errorf("%q resolves to no address", host)
	}
	for _, ip := range ips {
		if !ip.IsLoopback() {
			return fmt.Errorf("%q is not a loopback address (%s); pprof serves heap profiles and is only served on loopback, e.g. 127.0.0.1:6060", addr, ip)
		}
	}
	return nil
}
