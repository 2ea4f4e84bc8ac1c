package fsm

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/keyraft/keyraft/fsm/fsmpb"
)

// backupOf frames a snapshot of f as a backup file.
func backupOf(t testing.TB, f *FSM) (BackupHeader, []byte) {
	t.Helper()
	content := snapshotBytes(t, f)
	id, _ := f.Query().ClusterID()
	h := BackupHeader{ClusterID: id, Index: f.AppliedIndex(), Term: 2, Size: int64(len(content)), NodeID: "n1", Created: "2026-12-03T15:00:00Z"}
	var file bytes.Buffer
	w, err := NewBackupWriter(&file, h)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(content); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	h.FormatVersion = BackupFormatVersion
	return h, file.Bytes()
}

func readBackup(file []byte) ([]byte, error) {
	_, br, err := ReadBackupHeader(bytes.NewReader(file))
	if err != nil {
		return nil, err
	}
	return io.ReadAll(br)
}

func TestBackupRoundTripAndInspect(t *testing.T) {
	f := newFSM(t)
	applyAll(f, commandLog(t), 1)
	h, file := backupOf(t, f)
	content, err := readBackup(file)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(content, snapshotBytes(t, f)) {
		t.Fatal("the content read back is not the snapshot written")
	}
	s, err := InspectBackup(bytes.NewReader(file))
	if err != nil {
		t.Fatal(err)
	}
	q := f.Query()
	if s.Header != h || !s.Initialized || s.Keys != len(q.KeyIDs()) || s.Aliases != len(q.Aliases()) || s.Users != len(q.Users()) {
		t.Fatalf("summary %+v; want header %+v, %d keys, %d aliases, %d users", s, h, len(q.KeyIDs()), len(q.Aliases()), len(q.Users()))
	}
	head, _ := f.Audit().Head()
	if head > 0 && s.AuditLast != head {
		t.Fatalf("audit range ends at %d, the log's head is %d", s.AuditLast, head)
	}
	if want, _ := q.ClusterID(); h.ClusterID != want || want != ClusterIdentity([]byte("sealed-keyring")) {
		t.Fatalf("cluster id %q, want %q", h.ClusterID, want)
	}
}

// Every damage is refused before the reader yields io.EOF: a flipped bit
// anywhere, a cut anywhere, bytes added.
func TestBackupRefusesDamage(t *testing.T) {
	f := newFSM(t)
	applyAll(f, commandLog(t), 1)
	_, file := backupOf(t, f)
	step := max(1, len(file)/200)
	for i := 0; i < len(file); i += step {
		bad := bytes.Clone(file)
		bad[i] ^= 0x01
		if _, err := readBackup(bad); !errors.Is(err, ErrBadBackup) {
			t.Fatalf("bit flipped at %d of %d: %v", i, len(file), err)
		}
		if _, err := readBackup(file[:i]); !errors.Is(err, ErrBadBackup) {
			t.Fatalf("cut at %d of %d: %v", i, len(file), err)
		}
		if _, err := InspectBackup(bytes.NewReader(bad)); !errors.Is(err, ErrBadBackup) {
			t.Fatalf("inspect, bit flipped at %d: %v", i, err)
		}
	}
	if _, err := readBackup(append(bytes.Clone(file), 0)); !errors.Is(err, ErrBadBackup) {
		t.Fatalf("a byte after the checksum: %v", err)
	}
}

// ForRestore keeps the restoring cluster's membership and the backup's
// everything else, and the length it announces is the stream's.
func TestForRestoreKeepsMembership(t *testing.T) {
	src := newFSM(t)
	applyAll(src, commandLog(t), 1)
	applyAll(src, [][]byte{encode(t, CmdBindVoter, &fsmpb.Voter{NodeId: "n1", Identity: "old-identity"}, 1)}, 500)
	_, file := backupOf(t, src)

	// The restoring cluster is fresh: its own audit log, from before the
	// restore, is another chain, which the backup's replaces.
	dst := newFSM(t)
	applyAll(dst, [][]byte{
		encode(t, CmdBindVoter, &fsmpb.Voter{NodeId: "n1", Identity: "new-identity"}, 1),
	}, 1)
	// Within the backup's chain's window (it starts past 4 of its 14
	// events), so that only replacing it, not extending it, works.
	for i := range 8 {
		applyAll(dst, [][]byte{encode(t, CmdAuditBatch, &fsmpb.AuditBatch{Events: [][]byte{[]byte(`{"eventName":"Fresh"}`)}}, 1)}, uint64(2+i))
	}
	h, br, err := ReadBackupHeader(bytes.NewReader(file))
	if err != nil {
		t.Fatal(err)
	}
	r, n, err := dst.Query().ForRestore(br, h.Size, h.ClusterID)
	if err != nil {
		t.Fatal(err)
	}
	stream, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(stream)) != n {
		t.Fatalf("ForRestore announced %d bytes, gave %d", n, len(stream))
	}
	restoreBytes(t, dst, stream)
	if id, _ := dst.Query().VoterIdentity("n1"); id != "new-identity" {
		t.Fatalf("n1 bound to %q after restore; the restoring cluster's binding is new-identity", id)
	}
	if _, ok := dst.Query().RemovedBootNonce("n3"); ok {
		t.Fatal("the backup's tombstone of n3 was restored")
	}
	if len(dst.Query().KeyIDs()) != len(src.Query().KeyIDs()) || !dst.Query().Initialized() {
		t.Fatal("the backup's keys or init were not restored")
	}
	sh, shash := src.Audit().Head()
	dh, dhash := dst.Audit().Head()
	if sh != dh || shash != dhash {
		t.Fatalf("audit head %d after restore, the backup's is %d", dh, sh)
	}

	// A damaged file fails the stream raft would copy.
	bad := bytes.Clone(file)
	bad[len(bad)-40] ^= 1
	h, br, _ = ReadBackupHeader(bytes.NewReader(bad))
	r, _, err = dst.Query().ForRestore(br, h.Size, h.ClusterID)
	if err == nil {
		_, err = io.ReadAll(r)
	}
	if !errors.Is(err, ErrBadBackup) {
		t.Fatalf("damaged file: %v", err)
	}

	// A header naming another cluster than the content's keyring (the
	// checksum is unkeyed: anyone can recompute it) is refused.
	h, br, _ = ReadBackupHeader(bytes.NewReader(file))
	if _, _, err = dst.Query().ForRestore(br, h.Size, "another-cluster"); !errors.Is(err, ErrBadBackup) {
		t.Fatalf("a header claiming another cluster's id: %v", err)
	}
}

func FuzzReadBackup(f *testing.F) {
	g := newFSM(f)
	_, file := backupOf(f, g)
	f.Add(file)
	f.Fuzz(func(t *testing.T, b []byte) {
		h, br, err := ReadBackupHeader(bytes.NewReader(b))
		if err != nil {
			if !errors.Is(err, ErrBadBackup) {
				t.Fatalf("refusal not ErrBadBackup: %v", err)
			}
			return
		}
		if h.Size <= 0 {
			t.Fatalf("accepted size %d", h.Size)
		}
		_, _ = io.Copy(io.Discard, br)
		_, _ = InspectBackup(bytes.NewReader(b))
	})
}

// TestBackupFileSize: the length announced before a save streams is the
// length of the file written.
func TestBackupFileSize(t *testing.T) {
	h := BackupHeader{ClusterID: "c", Index: 7, Term: 2, Size: 5, Created: "2026-01-02T03:04:05Z", NodeID: "n1"}
	var out bytes.Buffer
	w, err := NewBackupWriter(&out, h)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte("12345")); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if n, err := BackupFileSize(h); err != nil || n != int64(out.Len()) {
		t.Fatalf("BackupFileSize = %d, %v; the file has %d bytes", n, err, out.Len())
	}
}
