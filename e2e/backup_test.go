package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
)

type backupSummary struct {
	Header struct {
		ClusterID string `json:"cluster_id"`
		Index     uint64 `json:"index"`
	} `json:"header"`
	Keys      int    `json:"keys"`
	AuditLast uint64 `json:"audit_last_seq"`
}

// TestBackupDrill is the disaster drill: a cluster's backup, the cluster
// gone, fresh servers (new data dirs, new identities) started and not
// initialised, the backup restored into them with -force, unsealed with
// the old shares; the old ciphertexts decrypt and the audit chain holds.
func TestBackupDrill(t *testing.T) {
	old := startUnsealedCluster(t)
	leader := old.waitLeader(20*time.Second, "")
	c := kmsClient(leader.api, old.creds, 5)
	ctx := ctx10(t)
	key, err := c.CreateKey(ctx, &kms.CreateKeyInput{Description: aws.String("drill")})
	if err != nil {
		t.Fatal(err)
	}
	enc, err := c.Encrypt(ctx, &kms.EncryptInput{KeyId: key.KeyMetadata.KeyId, Plaintext: []byte("before the fire")})
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "cluster.backup")
	save := cli(leader.api, old.creds, "operator", "raft", "snapshot", "save", "-address", leader.api, file)
	var stdout, stderr bytes.Buffer
	save.Stdout, save.Stderr = &stdout, &stderr
	if err := save.Run(); err != nil {
		t.Fatalf("save: %v: %s", err, stderr.String())
	}
	// Progress is for a terminal: a pipe gets none.
	if stderr.Len() != 0 || !strings.Contains(stdout.String(), "Saved "+file) {
		t.Fatalf("save printed %q on stdout, %q on stderr", stdout.String(), stderr.String())
	}
	if leftovers, _ := filepath.Glob(file + ".*"); len(leftovers) != 0 {
		t.Fatalf("save left %v beside the file", leftovers)
	}
	var sum backupSummary
	if err := operator(t, leader.api, &sum, "raft", "snapshot", "inspect", file); err != nil {
		t.Fatal(err)
	}
	if sum.Keys != 1 || sum.Header.ClusterID == "" || sum.AuditLast == 0 {
		t.Fatalf("inspect: %+v; want 1 key, a cluster id, audit events", sum)
	}
	if evs := auditEvents(t, leader.api, "event_name=OperatorSnapshotSave"); len(evs) != 1 {
		t.Fatalf("%d OperatorSnapshotSave events, want 1", len(evs))
	}

	for _, p := range old.nodes {
		p.kill()
	}
	fresh := startCluster(t)
	// Nobody is a principal before init, so nobody may ask who leads:
	// the restore goes to each node until the leader takes it.
	// Without -force, the leader refuses to give the fresh cluster a state.
	waitFor(t, 30*time.Second, "the fresh leader to refuse a restore without -force", func() (bool, error) {
		for _, p := range fresh.nodes {
			err := operatorAs(t, p.api, initOutput{}, nil, "raft", "snapshot", "restore", file)
			if err == nil {
				t.Fatalf("%s took a restore without -force", p.id)
			}
			if strings.Contains(err.Error(), "force=true") {
				return true, nil
			}
			if !strings.Contains(err.Error(), "runs on the leader") {
				return false, err
			}
		}
		return false, nil
	})
	var restoredVia *proc
	waitFor(t, 30*time.Second, "a fresh leader to take the restore", func() (bool, error) {
		for _, p := range fresh.nodes {
			err := operatorAs(t, p.api, initOutput{}, nil, "raft", "snapshot", "restore", file, "-force")
			if err == nil {
				restoredVia = p
				return true, nil
			}
			if !strings.Contains(err.Error(), "runs on the leader") {
				return false, err
			}
		}
		return false, nil
	})
	t.Logf("restored through %s", restoredVia.id)
	fresh.creds = old.creds
	fresh.waitInitialized(30 * time.Second)
	fresh.unsealEach()
	newLeader := fresh.waitLeader(20*time.Second, "")
	dec, err := kmsClient(newLeader.api, old.creds, 5).Decrypt(ctx10(t), &kms.DecryptInput{CiphertextBlob: enc.CiphertextBlob})
	if err != nil {
		t.Fatal(err)
	}
	if string(dec.Plaintext) != "before the fire" {
		t.Fatalf("decrypted %q", dec.Plaintext)
	}
	for _, p := range fresh.nodes {
		waitFor(t, 20*time.Second, p.id+"'s audit chain to verify", func() (bool, error) {
			out, err := auditCLI(p.api, "verify").CombinedOutput()
			if err != nil {
				return false, &cliError{string(out)}
			}
			return true, nil
		})
	}
	// The save's event followed the snapshot it took, so it is in the old
	// cluster's log only; the restore's is the restored log's next.
	if evs := auditEvents(t, newLeader.api, "event_name=OperatorSnapshotSave"); len(evs) != 0 {
		t.Fatalf("%d OperatorSnapshotSave events in the restored log, want 0", len(evs))
	}
	if evs := auditEvents(t, newLeader.api, "event_name=OperatorSnapshotRestore"); len(evs) != 1 {
		t.Fatalf("%d OperatorSnapshotRestore events in the restored log, want 1", len(evs))
	}
	if evs := auditEvents(t, newLeader.api, "event_name=Encrypt"); len(evs) != 1 {
		t.Fatalf("%d Encrypt events in the restored log, want the old cluster's 1", len(evs))
	}

	// Once initialised, the cluster refuses an unsigned restore, and it
	// costs the log nothing.
	err = operatorAs(t, newLeader.api, initOutput{}, nil, "raft", "snapshot", "restore", file, "-force")
	if err == nil || !strings.Contains(err.Error(), "Signature Version 4") {
		t.Fatalf("unsigned restore into an initialised cluster: %v", err)
	}
	// A principal not allowed keyraft:Snapshot is refused, and that is an
	// event naming it.
	nobody := newUserKey(t, fresh, old.creds, "nobody", "")
	err = operatorAs(t, newLeader.api, nobody, nil, "raft", "snapshot", "save", filepath.Join(t.TempDir(), "x"))
	if err == nil || !strings.Contains(err.Error(), "keyraft:Snapshot") {
		t.Fatalf("save by a user without keyraft:Snapshot: %v", err)
	}
	if evs := auditEvents(t, newLeader.api, "event_name=OperatorSnapshotRestore"); len(evs) != 1 {
		t.Fatalf("%d OperatorSnapshotRestore events after an unsigned restore, want still 1", len(evs))
	}
	denied := auditEvents(t, newLeader.api, "event_name=OperatorSnapshotSave")
	if len(denied) != 1 || denied[0]["errorCode"] != "AccessDenied" {
		t.Fatalf("save events after a denied save: %v", denied)
	}
}

type cliError struct{ out string }

func (e *cliError) Error() string { return e.out }

// TestBackupRefusesForeignAndDamaged: a cluster refuses another cluster's
// backup, and a damaged file even when the request is signed over the
// damaged file's own trailer, and stays as it was.
func TestBackupRefusesForeignAndDamaged(t *testing.T) {
	a := startOneNode(t, 1, 1, nil)
	a.unsealEach()
	b := startOneNode(t, 1, 1, nil)
	b.unsealEach()
	fileA := filepath.Join(t.TempDir(), "a.backup")
	waitFor(t, 20*time.Second, "a save", func() (bool, error) {
		err := operator(t, a.nodes[0].api, nil, "raft", "snapshot", "save", fileA)
		return err == nil, err
	})
	err := operator(t, b.nodes[0].api, nil, "raft", "snapshot", "restore", fileA)
	if err == nil || !strings.Contains(err.Error(), "another cluster") {
		t.Fatalf("foreign restore: %v", err)
	}

	// A damaged file: the CLI refuses it before sending...
	raw, err := os.ReadFile(fileA)
	if err != nil {
		t.Fatal(err)
	}
	bad := bytes.Clone(raw)
	bad[len(bad)/2] ^= 1
	badFile := filepath.Join(t.TempDir(), "bad.backup")
	if err := os.WriteFile(badFile, bad, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := operator(t, a.nodes[0].api, nil, "raft", "snapshot", "restore", badFile); err == nil || !strings.Contains(err.Error(), "bad backup file") {
		t.Fatalf("CLI restore of a damaged file: %v", err)
	}
	// ...and the node refuses it sent directly, signed over its trailer.
	for name, body := range map[string][]byte{"flipped": bad, "truncated": raw[:len(raw)-100]} {
		req, err := http.NewRequest(http.MethodPost, a.nodes[0].api+"/v1/sys/raft/snapshot", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("X-Keyraft-Backup-Sha256", hex.EncodeToString(body[len(body)-sha256.Size:]))
		if err := sign(req, "", a.creds, operatorService, time.Now()); err != nil {
			t.Fatal(err)
		}
		code, text := send(t, a.nodes[0].api, req)
		if code != http.StatusBadRequest || !strings.Contains(text, "nothing changed") {
			t.Fatalf("%s file: HTTP %d %s", name, code, text)
		}
	}
	// The whole file, signed over another checksum, is refused too.
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodPost, a.nodes[0].api+"/v1/sys/raft/snapshot", bytes.NewReader(raw))
	req.Header.Set("X-Keyraft-Backup-Sha256", strings.Repeat("00", sha256.Size))
	if err := sign(req, "", a.creds, operatorService, time.Now()); err != nil {
		t.Fatal(err)
	}
	if code, text := send(t, a.nodes[0].api, req); code != http.StatusBadRequest || !strings.Contains(text, "signed over") {
		t.Fatalf("file not the one signed for: HTTP %d %s", code, text)
	}
	// And the real one restores into its own cluster.
	if err := operator(t, a.nodes[0].api, nil, "raft", "snapshot", "restore", fileA); err != nil {
		t.Fatal(err)
	}
	if out, err := auditCLI(a.nodes[0].api, "verify").CombinedOutput(); err != nil {
		t.Fatalf("audit verify after restore: %v %s", err, out)
	}

	// After a keyring rotation, a backup from before it is refused: the
	// node seals under the new term, which the backup does not hold (a
	// breaker lost every key created after such a restore). A backup of
	// the rotated cluster restores.
	if err := operator(t, a.nodes[0].api, nil, "rotate"); err != nil {
		t.Fatal(err)
	}
	err = operator(t, a.nodes[0].api, nil, "raft", "snapshot", "restore", fileA)
	if err == nil || !strings.Contains(err.Error(), "keyring term is 1 and this cluster's is 2") {
		t.Fatalf("restore of a backup from before a rotation: %v", err)
	}
	fileRotated := filepath.Join(t.TempDir(), "rotated.backup")
	if err := operator(t, a.nodes[0].api, nil, "raft", "snapshot", "save", fileRotated); err != nil {
		t.Fatal(err)
	}
	if err := operator(t, a.nodes[0].api, nil, "raft", "snapshot", "restore", fileRotated); err != nil {
		t.Fatalf("restore of the rotated cluster's backup: %v", err)
	}
}

// TestUnsignedRestoreCannotOutraceInit: an unsigned restore of an
// uninitialised cluster (anybody's, as init is) holds off init while its
// body arrives, so an operator's init is refused and seen, rather than
// succeeding and then being replaced in silence when the attacker's
// upload ends (found by a breaker: init, unseal and a new key were all
// overwritten by a restore begun before them).
func TestUnsignedRestoreCannotOutraceInit(t *testing.T) {
	src := startOneNode(t, 1, 1, nil)
	src.unsealEach()
	file := filepath.Join(t.TempDir(), "src.backup")
	waitFor(t, 20*time.Second, "a save", func() (bool, error) {
		err := operator(t, src.nodes[0].api, nil, "raft", "snapshot", "save", file)
		return err == nil, err
	})
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	// One fresh node, started and not initialised: it leads alone.
	fresh := &cluster{t: t}
	leader := newProc(t, "n1", 1)
	fresh.add(leader)
	leader.start(nil)
	fresh.waitUp(20 * time.Second)
	u, err := url.Parse(leader.api)
	if err != nil {
		t.Fatal(err)
	}
	// Once it leads, a restore without force is refused for want of it.
	waitFor(t, 20*time.Second, "the fresh node to lead", func() (bool, error) {
		req, _ := http.NewRequest(http.MethodPost, leader.api+"/v1/sys/raft/snapshot", nil)
		code, text := send(t, leader.api, req)
		return code == http.StatusBadRequest && strings.Contains(text, "force=true"), nil
	})
	// The header and a first part of the body, the rest held back. Before
	// the node leads it answers at once ("runs on the leader"); once it
	// reads the body, it answers nothing until the rest arrives.
	var conn net.Conn
	waitFor(t, 20*time.Second, "the fresh leader to start reading an unsigned restore", func() (bool, error) {
		c, err := net.Dial("tcp", u.Host)
		if err != nil {
			return false, err
		}
		fmt.Fprintf(c, "POST /v1/sys/raft/snapshot?force=true HTTP/1.1\r\nHost: %s\r\nContent-Length: %d\r\n\r\n", u.Host, len(raw))
		if _, err := c.Write(raw[:len(raw)/2]); err != nil {
			c.Close()
			return false, err
		}
		_ = c.SetReadDeadline(time.Now().Add(time.Second))
		if _, err := c.Read(make([]byte, 1)); err == nil {
			c.Close() // answered: refused before the body
			return false, nil
		}
		conn = c
		return true, nil
	})
	defer conn.Close()
	waitFor(t, 20*time.Second, "init to be refused while the restore is open", func() (bool, error) {
		err := operatorAs(t, leader.api, initOutput{}, nil, "init", "-key-shares", "1", "-key-threshold", "1")
		if err == nil {
			t.Fatal("init succeeded while an unsigned restore was open")
		}
		return strings.Contains(err.Error(), "restore is running"), nil
	})
}
