package control

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// Security as the project's docker-compose.yml runs it (docs/tls.md): HTTPS
// API, mutual TLS on the cluster and raft listeners, encrypted gossip. The
// CA, node certificates and gossip key come from the keyraft CLI itself
// (`operator tls-gen`, `operator gossip-keygen`), made on the host.

// tlsDir is where the run's certificates live; the CA key stays here.
func tlsDir(cfg *Config) string { return filepath.Join(cfg.Dir, "tls") }

// makeTLS generates the CA, one certificate per node and the gossip key.
func makeTLS(ctx context.Context, cfg *Config, bin string, nodes []string) error {
	dir := tlsDir(cfg)
	if _, err := cli(ctx, bin, "operator", "tls-gen", "-out", dir, "-nodes", strings.Join(nodes, ",")); err != nil {
		return err
	}
	_, err := cli(ctx, bin, "operator", "gossip-keygen", "-out", filepath.Join(dir, "gossip.key"))
	return err
}

// nodeTLS copies what one node needs (never the CA key) into dst, owned by
// uid (the user the node runs as; -1 keeps the harness's), and returns the
// server flags that use it, with paths as the node sees them under mount.
func nodeTLS(cfg *Config, node, dst string, uid int, mount string) ([]string, error) {
	if err := os.MkdirAll(dst, 0o700); err != nil {
		return nil, err
	}
	files := []string{"ca.pem", node + ".pem", node + "-key.pem", "gossip.key"}
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join(tlsDir(cfg), f))
		if err != nil {
			return nil, err
		}
		p := filepath.Join(dst, f)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			return nil, err
		}
		if uid >= 0 {
			if err := os.Chown(p, uid, uid); err != nil {
				return nil, err
			}
		}
	}
	if uid >= 0 {
		if err := os.Chown(dst, uid, uid); err != nil {
			return nil, err
		}
	}
	in := func(f string) string { return mount + "/" + f }
	return []string{"-tls-cert-file", in(node + ".pem"), "-tls-key-file", in(node + "-key.pem"),
		"-cluster-ca-file", in("ca.pem"), "-cluster-cert-file", in(node + ".pem"), "-cluster-key-file", in(node + "-key.pem"),
		"-gossip-key-file", in("gossip.key")}, nil
}

// caFile is the CA certificate clients verify the API with, "" without TLS.
func caFile(cfg *Config) string {
	if !cfg.TLS {
		return ""
	}
	return filepath.Join(tlsDir(cfg), "ca.pem")
}

// scheme is the API's URL scheme.
func scheme(cfg *Config) string {
	if cfg.TLS {
		return "https"
	}
	return "http"
}

var (
	clientsMu sync.Mutex // guards clients
	clients   = map[string]*http.Client{}
)

// HTTPClient is a client for the cluster's API that trusts its CA (and
// only it); timeout 0 means none.
func HTTPClient(c Cluster, timeout time.Duration) (*http.Client, error) {
	key := fmt.Sprintf("%s|%s", c.CAFile(), timeout)
	clientsMu.Lock()
	defer clientsMu.Unlock()
	if hc, ok := clients[key]; ok {
		return hc, nil
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 32
	if ca := c.CAFile(); ca != "" {
		pem, err := os.ReadFile(ca)
		if err != nil {
			return nil, err
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%s holds no certificate", ca)
		}
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	hc := &http.Client{Transport: tr, Timeout: timeout}
	clients[key] = hc
	return hc, nil
}
