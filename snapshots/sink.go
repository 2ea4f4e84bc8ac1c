package snapshots

import (
	"bufio"
	"errors"
	"fmt"
	"hash"
	"hash/crc64"
	"io"
	"os"
	"path/filepath"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
)

var _ raft.SnapshotSink = (*Sink)(nil)

// Sink writes one snapshot. Write appends inline bytes; WriteFile appends a
// prefix of a file, by hard link when it can. It is used by one goroutine
// (raft's FSMSnapshot.Persist) and is not safe for concurrent use.
type Sink struct {
	store  *Store
	logger hclog.Logger
	dir    string // the <id>.tmp directory
	meta   meta

	state *os.File // nil once closed
	crc   hash.Hash64
	buf   *bufio.Writer // over state and crc

	written   int64 // bytes accepted for state.bin
	partStart int64 // where the open inline part began in state.bin
	total     int64 // stream length so far, inline and linked
	links     int   // linked parts so far, to name the next

	// err is the first failed write. After it the stream is not what the
	// caller meant, so Close discards the snapshot instead of saving it.
	err  error
	done bool // Close or Cancel has run
}

func newSink(s *Store, dir string, state *os.File, sm raft.SnapshotMeta) *Sink {
	crc := crc64.New(crcTable)
	return &Sink{
		store:  s,
		logger: s.logger,
		dir:    dir,
		meta:   meta{SnapshotMeta: sm},
		state:  state,
		crc:    crc,
		buf:    bufio.NewWriterSize(io.MultiWriter(state, crc), 256<<10),
	}
}

// ID returns the snapshot's id, for Store.Open once Close has returned.
func (s *Sink) ID() string { return s.meta.ID }

// Write appends b to the snapshot as inline bytes.
func (s *Sink) Write(b []byte) (int, error) {
	if err := s.usable(); err != nil {
		return 0, err
	}
	n, err := s.buf.Write(b)
	s.written += int64(n)
	s.total += int64(n)
	if err != nil {
		s.err = err
	}
	return n, err
}

// WriteFile appends the first size bytes of f to the snapshot stream.
//
// The caller promises f is append-only: those bytes never change, though
// the file may grow, now or after the snapshot is saved. They are then
// taken by reference: f.Name() is hard-linked into the snapshot and f is
// fsynced, since the caller's own appends need not be and raft may drop
// its log once the snapshot is saved. When the link cannot be made (no
// hard links, another file system, the name gone) or the name now belongs
// to another file, the bytes are copied from f into state.bin instead.
// The stream Store.Open returns is the same either way.
//
// A file shorter than size is an error (ErrShortFile). After any error the
// sink cannot be saved: Close returns the error and removes the snapshot.
func (s *Sink) WriteFile(f *os.File, size int64) error {
	if err := s.usable(); err != nil {
		return err
	}
	if size < 0 {
		return s.fail(fmt.Errorf("write file %s: negative size %d", f.Name(), size))
	}
	fi, err := f.Stat()
	if err != nil {
		return s.fail(fmt.Errorf("write file: %w", err))
	}
	if fi.Size() < size {
		return s.fail(fmt.Errorf("%w: %s has %d bytes, want %d", ErrShortFile, f.Name(), fi.Size(), size))
	}
	if size == 0 {
		return nil
	}

	name := partName(s.links + 1)
	path := filepath.Join(s.dir, name)
	if s.link(f, fi, path) {
		// The link shares f's inode, so syncing f makes the part durable;
		// its directory entry is synced by Close.
		if err := f.Sync(); err != nil {
			_ = os.Remove(path)
			return s.fail(fmt.Errorf("write file %s: sync: %w", f.Name(), err))
		}
		s.endInline()
		s.links++
		s.meta.Parts = append(s.meta.Parts, part{File: name, Size: size})
		s.total += size
		return nil
	}

	// Copied bytes join the open inline part: to a reader they are
	// inline bytes like any other.
	n, err := s.buf.ReadFrom(io.NewSectionReader(f, 0, size))
	s.written += n
	s.total += n
	if err == nil && n < size {
		err = fmt.Errorf("%w: %s ended after %d of %d bytes", ErrShortFile, f.Name(), n, size)
	}
	if err != nil {
		return s.fail(fmt.Errorf("write file %s: copy: %w", f.Name(), err))
	}
	return nil
}

// link hard-links f into the snapshot as path and reports whether path is
// now f's inode. The name is only a hint: the caller's file may have been
// unlinked and the name given to another, so the link is checked against
// f itself and removed if it is some other file.
func (s *Sink) link(f *os.File, fi os.FileInfo, path string) bool {
	if err := os.Link(f.Name(), path); err != nil {
		s.logger.Warn("cannot link file into snapshot, copying it", "file", f.Name(), "error", err)
		return false
	}
	li, err := os.Stat(path)
	if err == nil && os.SameFile(li, fi) {
		return true
	}
	s.logger.Warn("file name no longer names the open file, copying it", "file", f.Name(), "error", err)
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		// Harmless to the stream (meta.json never names it), but say so.
		s.logger.Warn("cannot remove stray link", "path", path, "error", err)
	}
	return false
}

// endInline closes the open inline part, if it has bytes.
func (s *Sink) endInline() {
	if s.written > s.partStart {
		s.meta.Parts = append(s.meta.Parts, part{Offset: s.partStart, Size: s.written - s.partStart})
		s.partStart = s.written
	}
}

// Close saves the snapshot: state.bin and meta.json are synced, the
// directory is renamed into place and synced, then old snapshots are
// reaped. A second call returns nil.
func (s *Sink) Close() error {
	if s.done {
		return nil
	}
	s.done = true
	if s.err != nil {
		s.discard()
		return fmt.Errorf("snapshot %s not saved: %w", s.meta.ID, s.err)
	}
	if err := s.finalize(); err != nil {
		s.logger.Error("failed to finalize snapshot", "id", s.meta.ID, "error", err)
		s.discard()
		return fmt.Errorf("snapshot %s not saved: %w", s.meta.ID, err)
	}
	final := filepath.Join(s.store.dir, s.meta.ID)
	if err := os.Rename(s.dir, final); err != nil {
		s.discard()
		return fmt.Errorf("snapshot %s not saved: %w", s.meta.ID, err)
	}
	if err := syncDir(s.store.dir); err != nil {
		return fmt.Errorf("snapshot %s: sync %s: %w", s.meta.ID, s.store.dir, err)
	}
	return s.store.reap()
}

func (s *Sink) finalize() error {
	if err := s.buf.Flush(); err != nil {
		return err
	}
	s.endInline()
	if err := s.state.Sync(); err != nil {
		return err
	}
	err := s.state.Close()
	s.state = nil
	if err != nil {
		return err
	}
	s.meta.CRC = s.crc.Sum(nil)
	s.meta.Size = s.total
	b, err := encodeMeta(&s.meta)
	if err != nil {
		return err
	}
	if err := writeSynced(filepath.Join(s.dir, metaFile), b); err != nil {
		return err
	}
	// The links and meta.json must be on disk before the rename publishes
	// the directory.
	return syncDir(s.dir)
}

// Cancel abandons the snapshot and removes its directory. A second call,
// or a call after Close, returns nil.
func (s *Sink) Cancel() error {
	if s.done {
		return nil
	}
	s.done = true
	s.closeState()
	return os.RemoveAll(s.dir)
}

func (s *Sink) usable() error {
	if s.done {
		return ErrSinkClosed
	}
	return s.err
}

func (s *Sink) fail(err error) error {
	s.err = err
	return err
}

func (s *Sink) closeState() {
	if s.state != nil {
		_ = s.state.Close()
		s.state = nil
	}
}

func (s *Sink) discard() {
	s.closeState()
	if err := os.RemoveAll(s.dir); err != nil {
		s.logger.Error("failed to remove incomplete snapshot", "path", s.dir, "error", err)
	}
}

func writeSynced(path string, b []byte) error {
	fh, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if err := fh.Chmod(0o600); err != nil {
		_ = fh.Close()
		return err
	}
	if _, err := fh.Write(b); err != nil {
		_ = fh.Close()
		return err
	}
	if err := fh.Sync(); err != nil {
		_ = fh.Close()
		return err
	}
	return fh.Close()
}
