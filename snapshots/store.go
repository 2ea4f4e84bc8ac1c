package snapshots

import (
	"bytes"
	"cmp"
	"fmt"
	"hash/crc64"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-msgpack/v2/codec"
	"github.com/hashicorp/raft"
)

var _ raft.SnapshotStore = (*Store)(nil)

var crcTable = crc64.MakeTable(crc64.ECMA)

// Store is a raft.SnapshotStore that keeps each snapshot in its own
// directory, in raft.FileSnapshotStore's layout, plus hard-linked parts.
// Create, List and Open may be called from different goroutines, as raft
// does; each Sink belongs to the one goroutine that writes it.
type Store struct {
	dir    string
	retain int
	logger hclog.Logger

	// reapMu is held by a closing sink while it removes old snapshots, so
	// that two sinks closing together do not remove the same directory.
	reapMu sync.Mutex
}

// New opens (creating) the store in dir, keeping the newest retain
// snapshots. It removes the .tmp directories a crash left behind: a
// snapshot that was being written or reaped, never a complete one.
func New(dir string, retain int, logger hclog.Logger) (*Store, error) {
	if retain < 1 {
		return nil, fmt.Errorf("snapshots: retain must be at least 1, not %d", retain)
	}
	if logger == nil {
		logger = hclog.NewNullLogger()
	}
	// Snapshots hold the whole state (sealed keys, the audit log): only
	// the server's user may read them, whatever the umask.
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("snapshots: %w", err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return nil, fmt.Errorf("snapshots: %w", err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("snapshots: %w", err)
	}
	for _, e := range entries {
		if e.IsDir() && strings.HasSuffix(e.Name(), tmpSuffix) {
			logger.Warn("removing incomplete snapshot", "name", e.Name())
			if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
				return nil, fmt.Errorf("snapshots: %w", err)
			}
		}
	}
	return &Store{dir: dir, retain: retain, logger: logger}, nil
}

// Create starts a snapshot in <id>.tmp; the sink's Close moves it into
// place. Only version 1 is written, as by raft.FileSnapshotStore.
func (s *Store) Create(version raft.SnapshotVersion, index, term uint64,
	configuration raft.Configuration, configurationIndex uint64, trans raft.Transport) (raft.SnapshotSink, error) {
	if version != 1 {
		return nil, fmt.Errorf("unsupported snapshot version %d", version)
	}
	id := fmt.Sprintf("%d-%d-%d", term, index, time.Now().UnixMilli())
	dir := filepath.Join(s.dir, id+tmpSuffix)
	// Mkdir, not MkdirAll: two snapshots of one index in one millisecond
	// must not share a directory.
	if err := os.Mkdir(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create snapshot: %w", err)
	}
	fh, err := os.OpenFile(filepath.Join(dir, stateFile), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err == nil {
		if err = os.Chmod(dir, 0o700); err == nil {
			err = fh.Chmod(0o600)
		}
		if err != nil {
			fh.Close()
		}
	}
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("create snapshot: %w", err)
	}
	s.logger.Info("creating new snapshot", "path", dir)
	return newSink(s, dir, fh, raft.SnapshotMeta{
		Version:            version,
		ID:                 id,
		Index:              index,
		Term:               term,
		Peers:              encodePeers(configuration, trans),
		Configuration:      configuration,
		ConfigurationIndex: configurationIndex,
	}), nil
}

// List returns the complete snapshots, newest first, in
// raft.FileSnapshotStore's order. A directory whose meta.json cannot be
// read is skipped with a warning, so one damaged snapshot does not hide
// the others from raft.
func (s *Store) List() ([]*raft.SnapshotMeta, error) {
	metas, err := s.scan()
	if err != nil {
		return nil, err
	}
	out := make([]*raft.SnapshotMeta, len(metas))
	for i, m := range metas {
		out[i] = &m.SnapshotMeta
	}
	return out, nil
}

func (s *Store) scan() ([]*meta, error) {
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return nil, fmt.Errorf("list snapshots: %w", err)
	}
	var metas []*meta
	for _, e := range entries {
		name := e.Name()
		if !e.IsDir() || strings.HasSuffix(name, tmpSuffix) {
			continue
		}
		m, err := s.readMeta(name)
		if err != nil {
			s.logger.Warn("skipping snapshot", "name", name, "error", err)
			continue
		}
		metas = append(metas, m)
	}
	slices.SortFunc(metas, func(a, b *meta) int {
		return cmp.Or(cmp.Compare(b.Term, a.Term), cmp.Compare(b.Index, a.Index), cmp.Compare(b.ID, a.ID))
	})
	return metas, nil
}

func (s *Store) readMeta(id string) (*meta, error) {
	if err := checkID(id); err != nil {
		return nil, fmt.Errorf("%w: %q", err, id)
	}
	fh, err := os.Open(filepath.Join(s.dir, id, metaFile))
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	b, err := io.ReadAll(io.LimitReader(fh, maxMetaSize+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxMetaSize {
		return nil, fmt.Errorf("%w: %s is over %d bytes", ErrBadMeta, metaFile, maxMetaSize)
	}
	m, err := decodeMeta(b)
	if err != nil {
		return nil, err
	}
	// Open finds a snapshot by directory, List reports it by meta.ID: they
	// must agree or raft would open a different snapshot than it listed.
	if m.ID != id {
		return nil, fmt.Errorf("%w: id %q in directory %q", ErrBadMeta, m.ID, id)
	}
	return m, nil
}

// reap removes all but the newest retain snapshots. Each is first renamed
// to <id>.tmp, so List never sees one half removed, and a crash midway
// leaves only a directory New removes.
func (s *Store) reap() error {
	s.reapMu.Lock()
	defer s.reapMu.Unlock()
	metas, err := s.scan()
	if err != nil {
		return err
	}
	for _, m := range metas[min(s.retain, len(metas)):] {
		path := filepath.Join(s.dir, m.ID)
		s.logger.Info("reaping snapshot", "path", path)
		doomed := path + tmpSuffix
		if err := os.Rename(path, doomed); err != nil {
			s.logger.Warn("failed to set snapshot aside, removing in place", "path", path, "error", err)
			doomed = path
		}
		if err := os.RemoveAll(doomed); err != nil {
			return fmt.Errorf("reap snapshot %s: %w", m.ID, err)
		}
	}
	return nil
}

// encodePeers fills SnapshotMeta.Peers as raft.FileSnapshotStore does
// (raft's unexported encodePeers): version-1 readers ignore it, but it
// travels in InstallSnapshot, and the same value keeps the two stores
// indistinguishable on the wire.
func encodePeers(configuration raft.Configuration, trans raft.Transport) []byte {
	if trans == nil {
		return nil
	}
	var peers [][]byte
	for _, srv := range configuration.Servers {
		if srv.Suffrage == raft.Voter {
			peers = append(peers, trans.EncodePeer(srv.ID, srv.Address))
		}
	}
	var buf bytes.Buffer
	h := codec.MsgpackHandle{}
	h.TimeNotBuiltin = true
	if err := codec.NewEncoder(&buf, &h).Encode(peers); err != nil {
		return nil // [][]byte always encodes; raft panics here
	}
	return buf.Bytes()
}

// syncDir makes a directory's entries (a new file, link or rename) durable.
func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil // directories cannot be opened for sync there; raft skips it too
	}
	fh, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = fh.Sync()
	if cerr := fh.Close(); err == nil {
		err = cerr
	}
	return err
}
