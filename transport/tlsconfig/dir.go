package tlsconfig

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// File names in a tls-gen directory.
const (
	CAFile    = "ca.pem"
	CAKeyFile = "ca-key.pem"
	// CASumFile holds the SHA-256 of the CA certificate tls-gen made in the
	// directory: it signs only with a CA whose certificate matches it.
	CASumFile = "ca.tls-gen.sha256"
)

// NodeFiles are the certificate and key file names of one node.
func NodeFiles(name string) (cert, key string) { return name + ".pem", name + "-key.pem" }

// Generated says what GenerateDir did, by file name.
type Generated struct {
	Written []string
	Kept    []string
}

// GenerateDir makes a CA (ca.pem, ca-key.pem) and a certificate and key for
// every node, signed by the CA, in dir, which must be empty or absent and
// not writable by every user. With force it works in a directory that
// holds files too: it makes what dir lacks, keeps what it holds, and signs
// with a CA found there only when GenerateDir made it (CASumFile), never
// with one it did not make. Nothing is overwritten. Keys are written mode
// 0600, certificates 0644, the directory (when made here) 0700.
func GenerateDir(dir string, nodes, hosts []string, force bool) (*Generated, error) {
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
	if err := checkOutDir(dir, force); err != nil {
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
		sum, _ := os.ReadFile(filepath.Join(dir, CASumFile))
		if want := caSum(certPEM); strings.TrimSpace(string(sum)) != want {
			return nil, fmt.Errorf("%s in %s was not made by keyraft operator tls-gen (no matching %s): it signs only with a CA it made; "+
				"use an empty directory", CAFile, dir, CASumFile)
		}
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
	if err := writeNew(filepath.Join(dir, CASumFile), []byte(caSum(ca.CertPEM())+"\n"), 0o644); err != nil {
		return nil, err
	}
	g.Written = append(g.Written, CAFile, CAKeyFile)
	return ca, nil
}

// caSum is what CASumFile holds for a CA certificate.
func caSum(certPEM []byte) string {
	sum := sha256.Sum256(certPEM)
	return hex.EncodeToString(sum[:])
}

// checkOutDir makes dir (0700, whatever the umask) when it is absent, and
// otherwise refuses it, unless force, when it holds files or every user may
// write to it (anyone could then swap a key or certificate in it).
func checkOutDir(dir string, force bool) error {
	fi, err := os.Stat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return err
		}
		return os.Chmod(dir, 0o700)
	}
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s is not a directory", dir)
	}
	if force {
		return nil
	}
	if fi.Mode().Perm()&0o002 != 0 {
		return fmt.Errorf("%s is writable by every user (mode %#o): anyone could swap a key or certificate in it; "+
			"use a directory only you can write (or give -force)", dir, fi.Mode().Perm())
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	if len(entries) > 0 {
		return fmt.Errorf("%s is not empty: tls-gen writes into an empty directory; give -force to add what is missing "+
			"to one tls-gen made before (its CA signs the new certificates; nothing is overwritten)", dir)
	}
	return nil
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
