package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/keyraft/keyraft/fsm"
	operatorapi "github.com/keyraft/keyraft/operator"
	"golang.org/x/sys/unix"
)

// opSnapshot runs `operator raft snapshot save|restore|inspect FILE`.
func opSnapshot(args []string) int {
	if len(args) == 0 || isHelp(args[0]) {
		fmt.Fprint(os.Stderr, "Usage: keyraft operator raft snapshot save|restore|inspect [flags] FILE\n")
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	switch args[0] {
	case "save":
		return snapSave(args[1:])
	case "restore":
		return snapRestore(args[1:])
	case "inspect":
		return snapInspect(args[1:])
	}
	fmt.Fprintf(os.Stderr, "keyraft operator raft snapshot: unknown command %q (save, restore, inspect)\n", args[0])
	return 2
}

// snapshotTimeout bounds a save or restore: a backup holds the whole audit
// log, which may take minutes to move.
const snapshotTimeout = time.Hour

func snapSave(args []string) int {
	const name = "raft snapshot save"
	fs, of := newOperatorFlags(name, "operator raft snapshot save [flags] FILE",
		"Save a backup of the cluster to FILE: a snapshot the leader takes now (sealed keys, users,\n"+
			"grants, the audit log) with a checksum. Ask the leader. Signed with $AWS_ACCESS_KEY_ID\n(keyraft:Snapshot). The file is written beside FILE and renamed once whole and checked.")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return usageExit(err)
	}
	if len(pos) != 1 {
		return fail(name, errors.New("give exactly one file"))
	}
	of.timeout = snapshotTimeout
	if err := saveBackup(of, pos[0]); err != nil {
		return fail(name, err)
	}
	return 0
}

func saveBackup(of *operatorFlags, path string) error {
	base, err := nodeURL(of.address)
	if err != nil {
		return err
	}
	req, err := http.NewRequest(http.MethodGet, base+"/v1/sys/raft/snapshot", nil)
	if err != nil {
		return err
	}
	if err := of.sign(req, nil, operatorapi.SigningService); err != nil {
		return err
	}
	client, err := of.httpClient(of.timeout)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return explainSendError(base, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
		return answerError(resp.StatusCode, raw)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".*.partial")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // after the rename, nothing
	// The whole file's length; an older node sends only its content's.
	size := resp.ContentLength
	if size <= 0 {
		size, _ = strconv.ParseInt(resp.Header.Get("X-Keyraft-Snapshot-Size"), 10, 64)
	}
	p := newProgress("saving", size)
	_, err = io.Copy(tmp, p.reader(resp.Body))
	p.done()
	if err == nil {
		err = tmp.Sync()
	}
	if err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		tmp.Close()
		return err
	}
	s, err := fsm.InspectBackup(tmp)
	tmp.Close()
	if err != nil {
		return fmt.Errorf("the node's answer is not a whole backup (connection cut?): %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	if of.format == "json" {
		printJSON(backupDone{File: path, BackupSummary: s})
		return nil
	}
	fmt.Printf("Saved %s: index %d, term %d, %d keys, audit events %d-%d.\n", path, s.Header.Index, s.Header.Term, s.Keys, s.AuditFirst, s.AuditLast)
	return nil
}

func snapRestore(args []string) int {
	const name = "raft snapshot restore"
	fs, of := newOperatorFlags(name, "operator raft snapshot restore [flags] FILE",
		"Restore a backup into the cluster, through the leader: every node takes the backup's state.\n"+
			"Refused if FILE is damaged or of another cluster, before anything changes. Signed with\n"+
			"$AWS_ACCESS_KEY_ID (keyraft:Snapshot). On fresh servers not yet initialised, give -force and\n"+
			"no credentials; then unseal them with the backup's shares.")
	force := fs.Bool("force", false, "restore into a cluster that is not initialised")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return usageExit(err)
	}
	if len(pos) != 1 {
		return fail(name, errors.New("give exactly one file"))
	}
	of.timeout = snapshotTimeout
	if err := restoreBackup(of, pos[0], *force); err != nil {
		return fail(name, err)
	}
	return 0
}

func restoreBackup(of *operatorFlags, path string, force bool) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	// Checked here first, so that a damaged file costs no upload; the
	// node checks again, and is what refuses.
	s, err := fsm.InspectBackup(f)
	if err != nil {
		return err
	}
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	var sum [sha256.Size]byte
	if _, err := f.ReadAt(sum[:], fi.Size()-sha256.Size); err != nil {
		return err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	base, err := nodeURL(of.address)
	if err != nil {
		return err
	}
	u := base + "/v1/sys/raft/snapshot"
	if force {
		u += "?force=true"
	}
	p := newProgress("restoring", fi.Size())
	req, err := http.NewRequest(http.MethodPost, u, p.reader(f))
	if err != nil {
		return err
	}
	req.ContentLength = fi.Size()
	req.Header.Set("Content-Type", "application/octet-stream")
	// Signed over an empty payload and over the file's checksum, which
	// the node checks the file against (operator/snapshot.go).
	req.Header.Set(operatorapi.BackupChecksumHeader, hex.EncodeToString(sum[:]))
	if err := of.sign(req, nil, operatorapi.SigningService); err != nil {
		return err
	}
	_, err = of.send(req)
	p.done()
	if err != nil {
		return err
	}
	if of.format == "json" {
		printJSON(backupDone{File: path, BackupSummary: s})
		return nil
	}
	fmt.Printf("Restored %s: index %d, %d keys, audit events %d-%d.\n", path, s.Header.Index, s.Keys, s.AuditFirst, s.AuditLast)
	return nil
}

// backupDone is what save and restore print with -format json: the file
// and what it holds, as inspect prints it.
type backupDone struct {
	File string `json:"file"`
	fsm.BackupSummary
}

func snapInspect(args []string) int {
	const name = "raft snapshot inspect"
	fs, of := newOperatorFlags(name, "operator raft snapshot inspect [flags] FILE",
		"Check a backup file and print what it holds; needs no cluster.")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return usageExit(err)
	}
	if len(pos) != 1 {
		return fail(name, errors.New("give exactly one file"))
	}
	f, err := os.Open(pos[0])
	if err != nil {
		return fail(name, err)
	}
	defer f.Close()
	s, err := fsm.InspectBackup(f)
	if err != nil {
		return fail(name, err)
	}
	if of.format == "json" {
		printJSON(s)
		return 0
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	h := s.Header
	for _, row := range [][2]any{
		{"format_version", h.FormatVersion}, {"cluster_id", h.ClusterID}, {"created", h.Created}, {"node_id", h.NodeID},
		{"index", h.Index}, {"term", h.Term}, {"size", h.Size}, {"initialized", s.Initialized},
		{"keys", s.Keys}, {"aliases", s.Aliases}, {"grants", s.Grants}, {"users", s.Users}, {"access_keys", s.AccessKeys},
		{"audit_first_seq", s.AuditFirst}, {"audit_last_seq", s.AuditLast}, {"audit_log_bytes", s.AuditLogBytes},
	} {
		fmt.Fprintf(tw, "%s\t%v\n", row[0], row[1])
	}
	tw.Flush()
	return 0
}

// answerError is what an operator API error answer says.
func answerError(status int, raw []byte) error {
	var e struct {
		Errors []string `json:"errors"`
	}
	if jsonErr := json.Unmarshal(raw, &e); jsonErr == nil && len(e.Errors) > 0 {
		return fmt.Errorf("%s (HTTP %d)", e.Errors[0], status)
	}
	return fmt.Errorf("HTTP %d", status)
}

// progress prints bytes moved on stderr, only when stderr is a terminal:
// a script's log gets no carriage returns.
type progress struct {
	verb  string
	total int64
	n     int64
	tty   bool
	last  time.Time
}

func newProgress(verb string, total int64) *progress {
	return &progress{verb: verb, total: total, tty: isTerminal(os.Stderr)}
}

// isTerminal reports whether f is a terminal: a character device that
// answers a terminal's ioctl (/dev/null is a character device too, and
// gets no progress).
func isTerminal(f *os.File) bool {
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

func (p *progress) reader(r io.Reader) io.Reader {
	if !p.tty {
		return r
	}
	return readFunc(func(b []byte) (int, error) {
		n, err := r.Read(b)
		p.n += int64(n)
		if time.Since(p.last) > 200*time.Millisecond {
			p.last = time.Now()
			p.print()
		}
		return n, err
	})
}

func (p *progress) print() {
	if p.total > 0 {
		fmt.Fprintf(os.Stderr, "\r%s: %d of %d bytes (%d%%)", p.verb, p.n, p.total, p.n*100/p.total)
	} else {
		fmt.Fprintf(os.Stderr, "\r%s: %d bytes", p.verb, p.n)
	}
}

func (p *progress) done() {
	if p.tty {
		p.print()
		fmt.Fprintln(os.Stderr)
	}
}

type readFunc func([]byte) (int, error)

func (f readFunc) Read(b []byte) (int, error) { return f(b) }
