package cluster

import (
	"context"
	"crypto/tls"
	"time"
)

const (
	// admitTimeout bounds one check of a candidate's certificate.
	admitTimeout = 2 * time.Second
	// admitRecheck is how long a refused server is not checked again.
	admitRecheck = 5 * time.Second
)

// admit reports whether a gossiping server may enter the raft
// configuration (at bootstrap, or as a voter the leader adds). Without
// cluster TLS every member may. With it, the server's raft listener must
// complete a mutual TLS handshake and present a certificate that chains to
// the cluster CA and names the node id it gossips: knowing the gossip key is
// not enough to join. Passes are remembered per process (boot nonce) and
// address; a refusal is logged once per process and rechecked after
// admitRecheck.
func (n *Node) admit(m Meta) bool {
	if n.cfg.TLS == nil || m.ID == n.cfg.NodeID {
		return true
	}
	key := m.ID + "|" + m.Boot + "|" + m.Raft
	n.admitMu.Lock()
	if n.admitted[key] {
		n.admitMu.Unlock()
		return true
	}
	if t, ok := n.refused[key]; ok && time.Since(t) < admitRecheck {
		n.admitMu.Unlock()
		return false
	}
	n.admitMu.Unlock()

	err := n.checkCertificate(m.ID, m.Raft)

	n.admitMu.Lock()
	defer n.admitMu.Unlock()
	if err == nil {
		n.admitted[key] = true
		delete(n.refused, key)
		return true
	}
	if _, again := n.refused[key]; !again {
		n.log.Warn("refusing server: its raft listener does not present a valid cluster certificate",
			"node_id", m.ID, "address", m.Raft, "error", err)
	}
	n.refused[key] = time.Now()
	return false
}

// checkCertificate completes a TLS handshake with the raft listener at addr
// and verifies that its certificate chains to the cluster CA and names id.
func (n *Node) checkCertificate(id, addr string) error {
	ctx, cancel := context.WithTimeout(context.Background(), admitTimeout)
	defer cancel()
	d := &tls.Dialer{Config: n.cfg.TLS.ClientConfig(id)}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	return conn.Close()
}
