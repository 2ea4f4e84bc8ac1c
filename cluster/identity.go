package cluster

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// identityFile holds the server identity in the data dir: random bytes made
// at the server's first start, kept for its life. The leader binds the node
// id to it in replicated state (fsm BindVoter) before it adds the server,
// and adds no process with another identity under that id until remove-peer
// frees it: a second process started with a voter's id, whether the voter
// is up or down, is never added and never given the log.
const identityFile = "node-identity"

// loadIdentity reads this server's identity, making it at first start.
func loadIdentity(dataDir string) (string, error) {
	path := filepath.Join(dataDir, identityFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return makeIdentity(path)
	}
	if err != nil {
		return "", fmt.Errorf("node identity: %w", err)
	}
	id := strings.TrimSpace(string(b))
	if raw, err := hex.DecodeString(id); err != nil || len(raw) != 16 {
		return "", fmt.Errorf("node identity %s: not 32 hex digits; a server identity cannot be remade: restore the file, or remove this server with `operator raft remove-peer` and start it on an empty data dir", path)
	}
	return id, nil
}

func makeIdentity(path string) (string, error) {
	raw := make([]byte, 16)
	if _, err := rand.Read(raw); err != nil {
		return "", err
	}
	id := hex.EncodeToString(raw)
	// O_EXCL: two processes started on one data dir do not both make one.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", fmt.Errorf("node identity: %w", err)
	}
	if _, err := f.WriteString(id + "\n"); err != nil {
		f.Close()
		return "", fmt.Errorf("node identity: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return "", fmt.Errorf("node identity: %w", err)
	}
	if err := f.Close(); err != nil {
		return "", fmt.Errorf("node identity: %w", err)
	}
	return id, nil
}
