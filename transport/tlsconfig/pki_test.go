package tlsconfig

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestIssueNames(t *testing.T) {
	ca := mustCA(t)
	_, _, cert := mustIssue(t, ca, "n1", "kms.example.com", "10.0.0.7", "localhost")
	if got, want := cert.DNSNames, []string{"n1", "localhost", "kms.example.com"}; !slices.Equal(got, want) {
		t.Errorf("DNS names %v, want %v", got, want)
	}
	var ips []string
	for _, ip := range cert.IPAddresses {
		ips = append(ips, ip.String())
	}
	if want := []string{"127.0.0.1", "10.0.0.7"}; !slices.Equal(ips, want) {
		t.Errorf("IP addresses %v, want %v", ips, want)
	}
	if pub, ok := cert.PublicKey.(*ecdsa.PublicKey); !ok || pub.Curve != elliptic.P256() {
		t.Errorf("node key is %T, want ECDSA P-256", cert.PublicKey)
	}
	if pub, ok := ca.Cert.PublicKey.(*ecdsa.PublicKey); !ok || pub.Curve != elliptic.P256() {
		t.Errorf("CA key is %T, want ECDSA P-256", ca.Cert.PublicKey)
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca.Cert)
	for _, usage := range []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth} {
		for _, name := range []string{"n1", "localhost", "127.0.0.1", "kms.example.com"} {
			if _, err := cert.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{usage}, DNSName: name}); err != nil {
				t.Errorf("usage %v, name %s: %v", usage, name, err)
			}
		}
	}
	if _, err := cert.Verify(x509.VerifyOptions{Roots: roots, DNSName: "n2"}); err == nil {
		t.Error("n1's certificate verified for n2")
	}
	if _, _, err := ca.Issue("../etc/passwd", nil); !errors.Is(err, ErrBadNodeName) {
		t.Errorf("a path as node name: %v", err)
	}
}

func TestNewCluster(t *testing.T) {
	ca, other := mustCA(t), mustCA(t)
	certPEM, keyPEM, _ := mustIssue(t, ca, "n1")
	c, err := NewCluster(ca.CertPEM(), certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.CheckNodeID("n1"); err != nil {
		t.Error(err)
	}
	if err := c.CheckNodeID("n2"); err == nil {
		t.Error("n1's certificate accepted as n2's")
	}
	// One certificate, one node id: the names it is also valid for
	// (localhost, 127.0.0.1, -hosts) are not ids it proves.
	for _, name := range []string{"localhost", "127.0.0.1"} {
		if err := c.CheckNodeID(name); err == nil {
			t.Errorf("n1's certificate accepted as node %q", name)
		}
	}
	if _, err := NewCluster(other.CertPEM(), certPEM, keyPEM); !errors.Is(err, ErrNotSignedByCA) {
		t.Errorf("a certificate of another CA: %v", err)
	}
	_, otherKey, _ := mustIssue(t, ca, "n2")
	if _, err := NewCluster(ca.CertPEM(), certPEM, otherKey); err == nil {
		t.Error("a certificate with another node's key was accepted")
	}
}

func TestClientConfigChecksPeer(t *testing.T) {
	ca, other := mustCA(t), mustCA(t)
	cluster := func(ca *CA, name string) *Cluster {
		certPEM, keyPEM, _ := mustIssue(t, ca, name)
		c, err := NewCluster(ca.CertPEM(), certPEM, keyPEM)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	n1, n2, rogue := cluster(ca, "n1"), cluster(ca, "n2"), cluster(other, "n2")
	for _, tc := range []struct {
		name   string
		server *Cluster
		client *tls.Config
		ok     bool
	}{
		{"same CA, any name", n2, n1.ClientConfig(""), true},
		{"same CA, the expected node", n2, n1.ClientConfig("n2"), true},
		{"same CA, another node", n2, n1.ClientConfig("n3"), false},
		// Every tls-gen certificate is valid for localhost and 127.0.0.1
		// too; neither is a node id it proves.
		{"a host name the certificate holds, as a node id", n2, n1.ClientConfig("localhost"), false},
		{"an IP the certificate holds, as a node id", n2, n1.ClientConfig("127.0.0.1"), false},
		{"server from another CA", rogue, n1.ClientConfig(""), false},
		{"client from another CA", n2, rogue.ClientConfig(""), false},
		{"client without a certificate", n2, &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS13}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := handshake(t, tc.server.ServerConfig(), tc.client)
			if (err == nil) != tc.ok {
				t.Fatalf("handshake error %v, want ok=%v", err, tc.ok)
			}
		})
	}
}

// handshake runs a TLS handshake over loopback and one byte each way (with
// TLS 1.3 a client learns that the server refused its certificate only on
// its first read); it returns the first error either side saw.
func handshake(t *testing.T, server, client *tls.Config) error {
	ln, err := tls.Listen("tcp", "127.0.0.1:0", server)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	serverErr := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			serverErr <- err
			return
		}
		defer c.Close()
		b := make([]byte, 1)
		if _, err := c.Read(b); err != nil {
			serverErr <- err
			return
		}
		_, err = c.Write(b)
		serverErr <- err
	}()
	c, err := tls.DialWithDialer(&net.Dialer{}, "tcp", ln.Addr().String(), client)
	if err == nil {
		defer c.Close()
		if _, err = c.Write([]byte{1}); err == nil {
			_, err = c.Read(make([]byte, 1))
		}
	}
	if serr := <-serverErr; serr != nil && err == nil {
		err = serr
	}
	return err
}

func TestGenerateDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "tls")
	g, err := GenerateDir(dir, []string{"n1", "n2"}, []string{"keyraft.internal"}, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(g.Written) != 6 || len(g.Kept) != 0 { // the CA's sum is not listed
		t.Fatalf("first run: %+v", g)
	}
	modes := map[string]os.FileMode{"ca.pem": 0o644, "ca-key.pem": 0o600, "n1.pem": 0o644, "n1-key.pem": 0o600, "n2.pem": 0o644, "n2-key.pem": 0o600}
	for name, want := range modes {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != want {
			t.Errorf("%s: mode %v, want %v", name, fi.Mode().Perm(), want)
		}
	}
	caBefore, _ := os.ReadFile(filepath.Join(dir, "ca.pem"))
	n1Before, _ := os.ReadFile(filepath.Join(dir, "n1.pem"))

	// Again, with one more node: refused without force; with it everything
	// is kept, n3 is signed by the same CA.
	if _, err := GenerateDir(dir, []string{"n1", "n2", "n3"}, nil, false); err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Fatalf("a non-empty directory was taken without force: %v", err)
	}
	g, err = GenerateDir(dir, []string{"n1", "n2", "n3"}, nil, true)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(g.Written, []string{"n3.pem", "n3-key.pem"}) || len(g.Kept) != 6 {
		t.Fatalf("second run: %+v", g)
	}
	caAfter, _ := os.ReadFile(filepath.Join(dir, "ca.pem"))
	n1After, _ := os.ReadFile(filepath.Join(dir, "n1.pem"))
	if string(caBefore) != string(caAfter) || string(n1Before) != string(n1After) {
		t.Fatal("a second run replaced existing files")
	}
	for _, n := range []string{"n1", "n2", "n3"} {
		c, err := LoadCluster(filepath.Join(dir, "ca.pem"), filepath.Join(dir, n+".pem"), filepath.Join(dir, n+"-key.pem"))
		if err != nil {
			t.Fatalf("%s: %v", n, err)
		}
		if err := c.CheckNodeID(n); err != nil {
			t.Error(err)
		}
	}

	// A lone key is refused rather than paired with a new certificate.
	if err := os.Remove(filepath.Join(dir, "n2.pem")); err != nil {
		t.Fatal(err)
	}
	if _, err := GenerateDir(dir, []string{"n2"}, nil, true); err == nil {
		t.Fatal("a directory holding n2-key.pem without n2.pem was accepted")
	}
	if _, err := GenerateDir(dir, []string{"ca"}, nil, true); err == nil {
		t.Fatal("a node named ca was accepted")
	}
}
