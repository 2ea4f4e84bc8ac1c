package operator

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/raft"

	"github.com/keyraft/keyraft/audit"
	"github.com/keyraft/keyraft/cluster"
	"github.com/keyraft/keyraft/fsm"
	"github.com/keyraft/keyraft/gateway"
	"github.com/keyraft/keyraft/transport/sigv4"
)

// Backups: GET /v1/sys/raft/snapshot streams a backup file (fsm/backup.go)
// of a snapshot the leader takes now; POST /v1/sys/raft/snapshot restores
// one through raft on the leader. Both need ActionSnapshot on the cluster.
//
// A restore request's body is the file, which is not hashed into the
// signature (it would have to be read twice, or held): the request is
// signed over an empty payload and over BackupChecksumHeader, the file's
// own checksum (its trailer), and the file is refused unless it carries
// that checksum. So the signature binds the content.
//
// A cluster that is not initialised has no principal to authorise anyone,
// exactly as for init: it takes a restore from whoever asks with force=true,
// which is what init would have given them (a cluster whose shares they
// hold). That is how a backup comes back on fresh servers: start them,
// restore with -force, unseal with the backup's shares.
const BackupChecksumHeader = "X-Keyraft-Backup-Sha256"

// snapshotRestoreTimeout bounds the wait for raft to take a restore and
// for a quorum to have installed it (the copy itself is bounded by the
// client's pace, deadlineReader).
const snapshotRestoreTimeout = 10 * time.Minute

// snapshotSaveTimeout bounds the barrier and the snapshot raft takes.
const snapshotSaveTimeout = 30 * time.Second

func (a *API) serveSnapshotSave(w http.ResponseWriter, r *http.Request, from gateway.Origin) {
	akid, refused := a.checkOperator(r, from, nil, ActionSnapshot, a.clusterARN())
	if refused != nil {
		a.refuseSnapshotCall(r, akid, "OperatorSnapshotSave", refused)
		writeErr(w, refused.status, refused.msg)
		return
	}
	meta, rc, err := a.Node.SaveSnapshot(snapshotSaveTimeout)
	switch {
	case errors.Is(err, cluster.ErrNotLeader):
		writeErr(w, http.StatusServiceUnavailable, "snapshot save runs on the leader ("+a.Node.LeaderID()+"); ask it")
		return
	case err != nil:
		_ = a.recordOperatorEvent(r.Context(), r, akid, "OperatorSnapshotSave", nil, err)
		writeErr(w, http.StatusServiceUnavailable, "snapshot save failed; retry: "+err.Error())
		return
	}
	defer rc.Close()
	id, _ := a.State.ClusterID()
	h := fsm.BackupHeader{ClusterID: id, Index: meta.Index, Term: meta.Term, Size: meta.Size,
		Created: a.Now().UTC().Format(time.RFC3339), NodeID: a.NodeID}
	params := map[string]any{"index": meta.Index, "term": meta.Term, "size": meta.Size}
	// The event commits before the first byte: a backup nobody can account
	// for is not given out.
	if err := a.recordOperatorEvent(r.Context(), r, akid, "OperatorSnapshotSave", params, nil); err != nil {
		writeErr(w, http.StatusServiceUnavailable, "snapshot save could not be audited; retry: "+err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("X-Keyraft-Snapshot-Size", strconv.FormatInt(meta.Size, 10))
	// The whole file's length, which the CLI's progress counts against
	// (the snapshot's size leaves out the framing and the checksum).
	if n, err := fsm.BackupFileSize(h); err == nil {
		w.Header().Set("Content-Length", strconv.FormatInt(n, 10))
	}
	w.WriteHeader(http.StatusOK)
	bw, err := fsm.NewBackupWriter(w, h)
	if err != nil {
		a.Log.Warn("snapshot save failed", "error", err)
		return
	}
	buf := make([]byte, 256<<10)
	for {
		a.extendWrite(w)
		n, rerr := rc.Read(buf)
		if n > 0 {
			if _, err := bw.Write(buf[:n]); err != nil {
				// The client sees a file without its checksum, which every
				// reader refuses.
				a.Log.Warn("snapshot save cut short", "error", err)
				return
			}
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			a.Log.Warn("snapshot save cut short", "error", rerr)
			return
		}
	}
	if err := bw.Close(); err != nil {
		a.Log.Warn("snapshot save cut short", "error", err)
	}
}

func (a *API) serveSnapshotRestore(w http.ResponseWriter, r *http.Request, from gateway.Origin) {
	// Only a leader that has applied every committed entry may judge
	// whether the cluster is initialised: a new one that had not yet
	// applied init would take an unsigned restore over a live cluster.
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	err := a.Node.WaitReady(ctx)
	cancel()
	if err != nil {
		// Who leads is for principals to see, and this is before any check.
		writeErr(w, http.StatusServiceUnavailable, "snapshot restore runs on the leader; ask it (operator raft list-peers)")
		return
	}
	force := r.URL.Query().Get("force") == "true"
	current, initialized := a.State.ClusterID()
	var akid string
	var signedSum []byte
	if initialized {
		var refused *operatorRefusal
		akid, refused = a.checkOperator(r, from, nil, ActionSnapshot, a.clusterARN())
		if refused == nil {
			signedSum, refused = signedChecksum(r)
		}
		if refused != nil {
			a.refuseSnapshotCall(r, akid, "OperatorSnapshotRestore", refused)
			writeErr(w, refused.status, refused.msg)
			return
		}
	}
	if !initialized {
		if !force {
			writeErr(w, http.StatusBadRequest, "snapshot restore: this cluster is not initialised; a restore gives it the backup's state, keys and shares: repeat with force=true (-force) to do that")
			return
		}
		// Anybody's, as init is: counted and summarised, not an event.
		a.AuthFailures.Count("OperatorSnapshotRestoreUninitialized", gateway.SourceIP(r), "")
	}
	if !a.restoring.TryLock() {
		writeErr(w, http.StatusConflict, "snapshot restore: another restore is running")
		return
	}
	defer a.restoring.Unlock()

	body := &deadlineReader{r: r.Body, rc: http.NewResponseController(w), window: a.WriteTimeout}
	var h fsm.BackupHeader
	var br *fsm.BackupReader
	h, br, err = fsm.ReadBackupHeader(body)
	if err == nil && h.ClusterID == "" {
		err = errors.New("the backup is of a cluster that was not initialised: it holds nothing to restore")
	}
	if err == nil && initialized && h.ClusterID != current {
		err = errors.New("the backup is of another cluster (cluster id " + h.ClusterID + ", this one's is " + current + "): refused")
	}
	params := map[string]any{"index": h.Index, "term": h.Term, "size": h.Size, "clusterId": h.ClusterID, "force": force}
	if err != nil {
		a.refuseRestore(w, r, akid, params, err)
		return
	}
	if signedSum != nil {
		br.Expect(signedSum)
	}
	stream, n, err := a.State.ForRestore(br, h.Size, h.ClusterID)
	if err != nil {
		a.refuseRestore(w, r, akid, params, err)
		return
	}
	// Stage the whole file and restore it into a scratch state machine
	// first: raft panics a node whose state machine refuses a snapshot it
	// has already stored, and the checksum (unkeyed) proves no content
	// well-formed. Only a file that restores cleanly here goes to raft.
	staged, err := a.stageRestore(stream)
	if err != nil {
		a.refuseRestore(w, r, akid, params, err)
		return
	}
	defer staged.Close()
	a.extendWrite(w)
	if initialized {
		if err := sealConfigOf(a.State).restorableOver(staged.seal); err != nil {
			a.refuseRestore(w, r, akid, params, err)
			return
		}
	}
	if !initialized && a.State.Initialized() {
		// Initialised while the body arrived (init waits for no restore
		// that had not yet begun): the unsigned path is closed now.
		a.refuseRestore(w, r, akid, params, errors.New("the cluster was initialised while the backup arrived: an unsigned restore is refused"))
		return
	}
	meta := &raft.SnapshotMeta{Version: raft.SnapshotVersionMax, Index: h.Index, Term: h.Term, Size: n}
	err = a.Node.RestoreSnapshot(meta, staged, snapshotRestoreTimeout)
	a.extendWrite(w)
	if err != nil {
		_ = a.recordOperatorEvent(r.Context(), r, akid, "OperatorSnapshotRestore", params, err)
		writeErr(w, http.StatusServiceUnavailable, "snapshot restore failed; nothing was restored if raft did not take the file: "+err.Error())
		return
	}
	// The event goes into the restored log: a fresh cluster's log is now
	// the backup's, and this is its next entry.
	if err := a.recordOperatorEvent(r.Context(), r, akid, "OperatorSnapshotRestore", params, nil); err != nil {
		a.Log.Warn("snapshot restore could not be audited", "error", err)
	}
	a.Log.Info("restored a backup", "index", h.Index, "term", h.Term, "cluster_id", h.ClusterID)
	writeJSON(w, http.StatusOK, map[string]any{"restored": true, "index": h.Index, "term": h.Term, "cluster_id": h.ClusterID})
}

// refuseSnapshotCall accounts for a refused save or restore: an event
// when someone authenticated, a count when a signature failed, and nothing
// for a node that could not check (sealed).
func (a *API) refuseSnapshotCall(r *http.Request, akid, name string, refused *operatorRefusal) {
	if a.unauthenticated(r, akid, refused) || akid == "" {
		return
	}
	_ = a.recordOperatorEvent(r.Context(), r, akid, name, nil, refused)
}

// refuseRestore answers a file refused before raft took any of it. Only a
// refusal that someone authenticated is an event.
func (a *API) refuseRestore(w http.ResponseWriter, r *http.Request, akid string, params map[string]any, err error) {
	if akid != "" {
		_ = a.recordOperatorEvent(r.Context(), r, akid, "OperatorSnapshotRestore", params, err)
	}
	writeErr(w, http.StatusBadRequest, "snapshot restore refused, nothing changed: "+err.Error())
}

// signedChecksum is the file checksum a restore request names, which its
// signature must cover.
func signedChecksum(r *http.Request) ([]byte, *operatorRefusal) {
	missing := &operatorRefusal{http.StatusBadRequest, "snapshot restore: the request must carry the file's checksum in " + BackupChecksumHeader +
		" (hex SHA-256), signed in the Authorization header's SignedHeaders; the keyraft CLI does"}
	auth, err := sigv4.ParseAuthorization(r.Header.Get("Authorization"))
	if err != nil {
		return nil, missing
	}
	signed := false
	for _, h := range auth.SignedHeaders {
		signed = signed || h == strings.ToLower(BackupChecksumHeader)
	}
	values := r.Header.Values(BackupChecksumHeader)
	if !signed || len(values) != 1 {
		return nil, missing
	}
	sum, err := hex.DecodeString(values[0])
	if err != nil || len(sum) != 32 {
		return nil, missing
	}
	return sum, nil
}

// deadlineReader gives each read of a long upload another window, as
// extendWrite does for long answers: a slow but sending client gets its
// file in, one that stops sending is dropped.
type deadlineReader struct {
	r      io.Reader
	rc     *http.ResponseController
	window time.Duration
}

func (d *deadlineReader) Read(p []byte) (int, error) {
	if d.window > 0 {
		_ = d.rc.SetReadDeadline(time.Now().Add(d.window))
	}
	return d.r.Read(p)
}

// stageRestore copies the restore stream into a file in the scratch dir and
// restores it into a scratch state machine with its own audit store,
// returning the file rewound when both succeed. The file removes itself
// when closed.
func (a *API) stageRestore(stream io.Reader) (*stagedFile, error) {
	dir, err := os.MkdirTemp(a.ScratchDir, "restore-")
	if err != nil {
		return nil, err
	}
	f, err := os.CreateTemp(dir, "snapshot-")
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	staged := &stagedFile{File: f, dir: dir}
	if _, err := io.Copy(f, stream); err != nil {
		staged.Close()
		return nil, err
	}
	if staged.seal, err = trialRestore(f, filepath.Join(dir, "audit")); err != nil {
		staged.Close()
		// The detail names files in the data dir: the log's, not the caller's.
		a.Log.Warn("snapshot restore refused: the backup does not restore", "error", err)
		return nil, fmt.Errorf("%w: its content does not restore (the node's log says why)", fsm.ErrBadBackup)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		staged.Close()
		return nil, err
	}
	return staged, nil
}

// trialRestore restores f's snapshot into a state machine that no raft
// drives, over an empty audit store in auditDir.
func trialRestore(f *os.File, auditDir string) (sealConfig, error) {
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return sealConfig{}, err
	}
	store, err := audit.Open(auditDir)
	if err != nil {
		return sealConfig{}, err
	}
	defer store.Close()
	scratch := fsm.New(store)
	if err := scratch.Restore(io.NopCloser(f)); err != nil {
		return sealConfig{}, err
	}
	return sealConfigOf(scratch.Query()), nil
}

// stagedFile is a staged backup that removes its directory when closed.
type stagedFile struct {
	*os.File
	dir string
	// seal is the backup's seal configuration, read from the trial restore.
	seal sealConfig
}

func (s *stagedFile) Close() error {
	err := s.File.Close()
	os.RemoveAll(s.dir)
	return err
}
