package tlsconfig

import (
	"crypto/x509"
	"encoding/pem"
	"testing"
)

// mustCA makes a CA or fails the test.
func mustCA(t *testing.T) *CA {
	t.Helper()
	ca, err := NewCA()
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

// mustIssue issues a node certificate and parses it back.
func mustIssue(t *testing.T, ca *CA, name string, hosts ...string) (certPEM, keyPEM []byte, cert *x509.Certificate) {
	t.Helper()
	certPEM, keyPEM, err := ca.Issue(name, hosts)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := pem.Decode(certPEM)
	cert, err = x509.ParseCertificate(b.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return certPEM, keyPEM, cert
}
