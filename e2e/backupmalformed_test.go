package e2e

import (
	"bytes"
	"crypto/sha256"
	bin "encoding/binary"
	"encoding/hex"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/keyraft/keyraft/fsm"
)

// rewrapBackup writes a backup file with raw's header (this cluster's id)
// over content, with a correct checksum: a file whose checksum holds but
// whose content is malformed, as anyone can make (the checksum is unkeyed).
func rewrapBackup(t *testing.T, raw, content []byte) string {
	t.Helper()
	h, _, err := fsm.ReadBackupHeader(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	h.Size = int64(len(content))
	var out bytes.Buffer
	w, err := fsm.NewBackupWriter(&out, h)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(content); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(t.TempDir(), "malformed.backup")
	if err := os.WriteFile(f, out.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

// TestMalformedBackupRefused (F4): a backup whose header and checksum are
// right but whose content is garbage, wholly or after a valid beginning,
// is refused by `operator raft snapshot restore` with an error that says
// so, and the cluster keeps serving: its keys, its old ciphertexts, new
// writes and its audit chain are as they were.
func TestMalformedBackupRefused(t *testing.T) {
	c := startOneNode(t, 1, 1, nil)
	c.unsealEach()
	p := c.nodes[0]
	cl := kmsClient(p.api, c.creds, 1)
	ck, err := cl.CreateKey(ctx10(t), &kms.CreateKeyInput{})
	if err != nil {
		t.Fatal(err)
	}
	var a acked
	if err := a.encrypt(t, cl, *ck.KeyMetadata.KeyId); err != nil {
		t.Fatal(err)
	}
	good := filepath.Join(t.TempDir(), "good.backup")
	if err := operator(t, p.api, nil, "raft", "snapshot", "save", good); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	// The content sits between the framing (magic, header length, header)
	// and the checksum.
	start := len("KRBACKUP") + 4 + int(bin.BigEndian.Uint32(raw[8:12]))
	content := raw[start : len(raw)-32]
	garbage := bytes.Repeat([]byte{0xde, 0xad, 0xbe, 0xef, 0x00, 0x7f}, 4096)
	for name, bad := range map[string][]byte{
		"all garbage":                     garbage,
		"snapshot magic, then garbage":    append([]byte("KRSNAP"), garbage...),
		"a valid beginning, then garbage": append(bytes.Clone(content[:len(content)*2/3]), garbage...),
		"a valid beginning, cut short":    bytes.Clone(content[:len(content)/2]),
	} {
		t.Run(name, func(t *testing.T) {
			file := rewrapBackup(t, raw, bad)
			// The CLI checks the file before it sends it...
			err := operator(t, p.api, nil, "raft", "snapshot", "restore", file)
			if err == nil || !strings.Contains(err.Error(), "bad backup file") {
				t.Fatalf("CLI restore of a checksummed but malformed file: %v; want a refusal naming a bad backup file", err)
			}
			// ...and the node refuses it sent as another client would,
			// signed over its (correct) checksum.
			body, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			req, err := http.NewRequest(http.MethodPost, p.api+"/v1/sys/raft/snapshot", bytes.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("X-Keyraft-Backup-Sha256", hex.EncodeToString(body[len(body)-sha256.Size:]))
			if err := sign(req, "", c.creds, operatorService, time.Now()); err != nil {
				t.Fatal(err)
			}
			if code, text := send(t, p.api, req); code != http.StatusBadRequest ||
				!strings.Contains(text, "snapshot restore refused, nothing changed") || !strings.Contains(text, "bad backup file") {
				t.Fatalf("the node took a checksummed but malformed file: HTTP %d %s", code, text)
			}
			// Still serving: status ready, old ciphertexts, a new write.
			waitFor(t, 10*time.Second, "the node to be ready", func() (bool, error) { return publicReady(p) })
			a.check(t, cl)
			if err := a.encrypt(t, cl, *ck.KeyMetadata.KeyId); err != nil {
				t.Fatalf("Encrypt after the refused restore: %v", err)
			}
		})
	}
	if out, err := auditCLI(p.api, "verify").CombinedOutput(); err != nil {
		t.Fatalf("audit verify after the refused restores: %v %s", err, out)
	}
	// The good file still restores.
	if err := operator(t, p.api, nil, "raft", "snapshot", "restore", good); err != nil {
		t.Fatalf("restore of the good file after the refused ones: %v", err)
	}
}
