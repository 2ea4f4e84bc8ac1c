package tlsconfig

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"strings"
)

// Cluster is one node's identity between nodes: its certificate and key,
// and the CA every peer's certificate must chain to. It configures both ends
// of the cluster (gRPC) and raft connections, always with mutual TLS 1.3.
type Cluster struct {
	cert  tls.Certificate
	leaf  *x509.Certificate
	roots *x509.CertPool
}

// LoadCluster reads the CA certificate and this node's certificate and key
// (PEM files, as tls-gen writes them).
func LoadCluster(caFile, certFile, keyFile string) (*Cluster, error) {
	caPEM, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("cluster CA: %w", err)
	}
	certPEM, err := os.ReadFile(certFile)
	if err != nil {
		return nil, fmt.Errorf("cluster certificate: %w", err)
	}
	keyPEM, err := os.ReadFile(keyFile)
	if err != nil {
		return nil, fmt.Errorf("cluster key: %w", err)
	}
	c, err := NewCluster(caPEM, certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("%s, %s: %w", caFile, certFile, err)
	}
	return c, nil
}

// NewCluster is LoadCluster from PEM bytes. The node certificate must chain
// to the CA and be valid for both server and client authentication, since a
// node both accepts and makes cluster connections with it.
func NewCluster(caPEM, certPEM, keyPEM []byte) (*Cluster, error) {
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(caPEM) {
		return nil, errors.New("no PEM certificate in the CA file")
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, err
	}
	if cert.Leaf == nil {
		if cert.Leaf, err = x509.ParseCertificate(cert.Certificate[0]); err != nil {
			return nil, err
		}
	}
	c := &Cluster{cert: cert, leaf: cert.Leaf, roots: roots}
	for _, usage := range []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth} {
		if _, err := c.leaf.Verify(c.verifyOptions(cert.Certificate[1:], usage)); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrNotSignedByCA, err)
		}
	}
	return c, nil
}

// Names are the DNS names and IP addresses the node certificate is valid for.
func (c *Cluster) Names() []string {
	names := append([]string{}, c.leaf.DNSNames...)
	for _, ip := range c.leaf.IPAddresses {
		names = append(names, ip.String())
	}
	return names
}

// CheckNodeID reports whether the node certificate names this node: peers
// check the certificate against the node id gossip gives them.
func (c *Cluster) CheckNodeID(id string) error {
	if err := namesNode(c.leaf, id); err != nil {
		return fmt.Errorf("the cluster certificate does not name node id %q: its subject common name is %q (it is valid for %s)", id, c.leaf.Subject.CommonName, strings.Join(c.Names(), ", "))
	}
	return nil
}

// namesNode: a certificate proves exactly one node id, its subject's common
// name. Its DNS and IP names are not ids: every node certificate tls-gen
// makes is also valid for localhost and 127.0.0.1, so accepting any of them
// would let one node's certificate join as "localhost" too.
func namesNode(leaf *x509.Certificate, id string) error {
	if id == "" || leaf.Subject.CommonName != id {
		return ErrWrongNode
	}
	return nil
}

// ServerConfig is the listening side: it presents the node certificate and
// requires one from the client that chains to the cluster CA.
func (c *Cluster) ServerConfig() *tls.Config {
	return &tls.Config{
		MinVersion:   tls.VersionTLS13,
		Certificates: []tls.Certificate{c.cert},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    c.roots,
	}
}

// ClientConfig is the dialing side: it presents the node certificate and
// accepts a server whose certificate chains to the cluster CA and, unless
// peer is "", names that node id. The dialed address is not checked against
// the certificate: peers are dialed at the IPs they gossip, which change
// (containers) and which no CA could have known.
func (c *Cluster) ClientConfig(peer string) *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS13,
		// Present the node certificate even when the server names other
		// CAs, so that a refusal says why ("unknown certificate authority",
		// not "certificate required").
		GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &c.cert, nil },
		// The standard check would tie the certificate to the dialed
		// address; VerifyConnection does the whole check instead.
		InsecureSkipVerify: true,
		VerifyConnection: func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return ErrNoPeerCertificate
			}
			var inter [][]byte
			for _, ic := range cs.PeerCertificates[1:] {
				inter = append(inter, ic.Raw)
			}
			leaf := cs.PeerCertificates[0]
			if _, err := leaf.Verify(c.verifyOptions(inter, x509.ExtKeyUsageServerAuth)); err != nil {
				if peer != "" {
					return fmt.Errorf("peer %s: %w", peer, err)
				}
				return err
			}
			if peer != "" {
				if err := namesNode(leaf, peer); err != nil {
					return fmt.Errorf("peer %s: certificate is for node %q: %w", peer, leaf.Subject.CommonName, err)
				}
			}
			return nil
		},
	}
}

func (c *Cluster) verifyOptions(intermediates [][]byte, usage x509.ExtKeyUsage) x509.VerifyOptions {
	opts := x509.VerifyOptions{Roots: c.roots, KeyUsages: []x509.ExtKeyUsage{usage}}
	if len(intermediates) > 0 {
		opts.Intermediates = x509.NewCertPool()
		for _, der := range intermediates {
			if ic, err := x509.ParseCertificate(der); err == nil {
				opts.Intermediates.AddCert(ic)
			}
		}
	}
	return opts
}

// LoadServer is the API listener's configuration: the certificate and key
// clients see. Clients are not asked for certificates; SigV4 authenticates
// them.
func LoadServer(certFile, keyFile string) (*tls.Config, error) {
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("api certificate: %w", err)
	}
	return &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}, nil
}
