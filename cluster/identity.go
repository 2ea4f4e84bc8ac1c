package cluster

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// identityFile holds the server identity in the data dir: an Ed25519 key
// (its seed, hex) made at the server's first start, kept for its life. The
// server gossips the public key; the leader binds the node id to it in
// replicated state (fsm BindVoter) before it adds the server, and adds no
// process with another identity under that id until remove-peer frees it.
// With cluster TLS, every raft connection a node accepts carries a
// signature by the key over the TLS session (transport/nodeproof), as does
// every cluster gRPC connection (so unseal shares follow the key), and
// the leader sends the log only to a peer whose proof verifies under the
// key bound to the id its certificate names: a second process started with
// a voter's id, whether the voter is up or down, even one holding the
// voter's certificate at its address, is never added and never given the
// log. Gossip alone proves nothing: the public key is public.
const identityFile = "node-identity"

// loadIdentity reads this server's identity key, making it at first start.
func loadIdentity(dataDir string) (ed25519.PrivateKey, error) {
	path := filepath.Join(dataDir, identityFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return makeIdentity(path)
	}
	if err != nil {
		return nil, fmt.Errorf("node identity: %w", err)
	}
	seed, err := hex.DecodeString(strings.TrimSpace(string(b)))
	if err != nil || len(seed) != ed25519.SeedSize {
		return nil, fmt.Errorf("node identity %s: not an Ed25519 seed of 64 hex digits; a server identity cannot be remade: restore the file, or remove this server with `operator raft remove-peer` and start it on an empty data dir", path)
	}
	return ed25519.NewKeyFromSeed(seed), nil
}

// publicIdentity is the identity a server gossips and the leader binds:
// the public key, hex.
func publicIdentity(key ed25519.PrivateKey) string {
	return hex.EncodeToString(key.Public().(ed25519.PublicKey))
}

// parseIdentity is the public key of a bound identity; false if damaged.
func parseIdentity(s string) (ed25519.PublicKey, bool) {
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != ed25519.PublicKeySize {
		return nil, false
	}
	return ed25519.PublicKey(b), true
}

func makeIdentity(path string) (ed25519.PrivateKey, error) {
	seed := make([]byte, ed25519.SeedSize)
	if _, err := rand.Read(seed); err != nil {
		return nil, err
	}
	// O_EXCL: two processes started on one data dir do not both make one.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("node identity: %w", err)
	}
	if _, err := f.WriteString(hex.EncodeToString(seed) + "\n"); err != nil {
		f.Close()
		return nil, fmt.Errorf("node identity: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return nil, fmt.Errorf("node identity: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("node identity: %w", err)
	}
	return ed25519.NewKeyFromSeed(seed), nil
}
