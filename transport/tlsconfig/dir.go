package tlsconfig

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// File names in a tls-gen directory.
const (
	CAFile    = "ca.pem"
	CAKeyFile = "ca-key.pem"
)

// NodeFiles are the certificate and key file names of one node.
func NodeFiles(name string) (cert, key string) { return name + ".pem", name + "-key.pem" }

// Generated says what GenerateDir did, by file name.
type Generated struct {
	Written []string
	Kept    []string
}

// GenerateDir makes what dir lacks: a CA (ca.pem, ca-key.pem) when it holds
// none, and a certificate and key for every node that has none, signed by
// the CA in dir. Nothing is overwritten, so running it again is harmless and
// adding a node to an existing cluster's directory signs it with that
// cluster's CA. Keys are written mode 0600, certificates 0644.
func GenerateDir(dir string, nodes, hosts []string) (*Generated, error) {
	if len(nodes) == 0 {
		return nil, errors.New("no node names given")
	}
	for _, n := range nodes {
		if err := ValidNodeName(n); err != nil {
			return nil, err
		}
		if n == "ca" {
			return nil, fmt.Errorf("%q: the name is taken by the CA's files", n)
		}
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	g := &Generated{}
	ca, err := loadOrMakeCA(dir, g)
	if err != nil {
		return nil, err
	}
	for _, n := range nodes {
		certName, keyName := NodeFiles(n)
		haveCert, err := exists(filepath.Join(dir, certName))
		if err != nil {
			return nil, err
		}
		haveKey, err := exists(filepath.Join(dir, keyName))
		if err != nil {
			return nil, err
		}
		switch {
		case haveCert && haveKey:
			g.Kept = append(g.Kept, certName, keyName)
			continue
		case haveCert || haveKey:
			return nil, fmt.Errorf("%s holds only one of %s and %s; remove it to make a new pair", dir, certName, keyName)
		}
		certPEM, keyPEM, err := ca.Issue(n, hosts)
		if err != nil {
			return nil, err
		}
		// The key first: a certificate is never there without its key.
		if err := writeNew(filepath.Join(dir, keyName), keyPEM, 0o600); err != nil {
			return nil, err
		}
		if err := writeNew(filepath.Join(dir, certName), certPEM, 0o644); err != nil {
			return nil, err
		}
		g.Written = append(g.Written, certName, keyName)
	}
	return g, nil
}

func loadOrMakeCA(dir string, g *Generated) (*CA, error) {
	certPath, keyPath := filepath.Join(dir, CAFile), filepath.Join(dir, CAKeyFile)
	certPEM, cerr := os.ReadFile(certPath)
	keyPEM, kerr := os.ReadFile(keyPath)
	switch {
	case cerr == nil && kerr == nil:
		ca, err := ParseCA(certPEM, keyPEM)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", dir, err)
		}
		g.Kept = append(g.Kept, CAFile, CAKeyFile)
		return ca, nil
	case errors.Is(cerr, fs.ErrNotExist) && errors.Is(kerr, fs.ErrNotExist):
	case cerr == nil || kerr == nil:
		return nil, fmt.Errorf("%s holds only one of %s and %s; a CA needs both", dir, CAFile, CAKeyFile)
	case !errors.Is(cerr, fs.ErrNotExist):
		return nil, cerr
	default:
		return nil, kerr
	}
	ca, err := NewCA()
	if err != nil {
		return nil, err
	}
	if keyPEM, err = ca.KeyPEM(); err != nil {
		return nil, err
	}
	if err := writeNew(keyPath, keyPEM, 0o600); err != nil {
		return nil, err
	}
	if err := writeNew(certPath, ca.CertPEM(), 0o644); err != nil {
		return nil, err
	}
	g.Written = append(g.Written, CAFile, CAKeyFile)
	return ca, nil
}

func exists(path string) (bool, error) {
	_, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	return err == nil, err
}

// writeNew writes a file that must not exist yet, with exactly mode perm
// whatever the umask.
func writeNew(path string, data []byte, perm os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return err
	}
	if err := f.Chmod(perm); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
