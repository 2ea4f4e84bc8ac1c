package main

import (
	"flag"

	"github.com/keyraft/keyraft/node"
)

// limitFlags are the server flags that bound the API listener's
// connections and how long each may take.
func limitFlags(fs *flag.FlagSet, cfg *node.Config) {
	fs.IntVar(&cfg.MaxConnections, "max-connections", node.DefaultMaxConnections,
		"API connections held open at once; more are closed on arrival (0: no limit)")
	fs.IntVar(&cfg.MaxConnectionsPerIP, "max-connections-per-ip", node.DefaultMaxConnectionsPerIP,
		"API connections held open at once from one source IP, so that one address cannot take them all; raise it behind a load balancer or NAT that funnels many clients through few addresses (0: no limit)")
	fs.DurationVar(&cfg.HTTPReadHeaderTimeout, "http-read-header-timeout", node.DefaultHTTPReadHeaderTimeout,
		"time a client has to send a request's headers (and finish the TLS handshake)")
	fs.DurationVar(&cfg.HTTPReadTimeout, "http-read-timeout", node.DefaultHTTPReadTimeout,
		"time a client has to send a whole request, body included")
	fs.DurationVar(&cfg.HTTPWriteTimeout, "http-write-timeout", node.DefaultHTTPWriteTimeout,
		"time to answer a request once its headers are read; an audit log export gets this long again for each event it sends")
	fs.DurationVar(&cfg.HTTPIdleTimeout, "http-idle-timeout", node.DefaultHTTPIdleTimeout,
		"how long an idle keep-alive connection is kept open")
}
