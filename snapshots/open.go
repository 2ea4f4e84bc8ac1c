package snapshots

import (
	"bufio"
	"bytes"
	"fmt"
	"hash/crc64"
	"io"
	"os"
	"path/filepath"

	"github.com/hashicorp/raft"
)

// Open verifies snapshot id and returns its stream: state.bin is read
// through once against its CRC, every linked part must be at least as
// long as recorded, and all files are opened before Open returns, so a
// reap that removes the directory meanwhile cannot cut the stream short.
func (s *Store) Open(id string) (*raft.SnapshotMeta, io.ReadCloser, error) {
	m, err := s.readMeta(id)
	if err != nil {
		return nil, nil, fmt.Errorf("open snapshot %q: %w", id, err)
	}
	dir := filepath.Join(s.dir, id)
	r := &reader{}
	state, err := os.Open(filepath.Join(dir, stateFile))
	if err != nil {
		return nil, nil, fmt.Errorf("open snapshot %q: %w", id, err)
	}
	r.files = append(r.files, state)
	fail := func(err error) (*raft.SnapshotMeta, io.ReadCloser, error) {
		_ = r.Close()
		s.logger.Error("failed to open snapshot", "id", id, "error", err)
		return nil, nil, fmt.Errorf("open snapshot %q: %w", id, err)
	}

	h := crc64.New(crcTable)
	n, err := io.Copy(h, bufio.NewReader(state))
	if err != nil {
		return fail(err)
	}
	if !bytes.Equal(h.Sum(nil), m.CRC) {
		return fail(fmt.Errorf("%w: %s", ErrChecksum, stateFile))
	}
	if want := m.inlineSize(); n != want {
		return fail(fmt.Errorf("%w: %s has %d bytes, parts need %d", ErrChecksum, stateFile, n, want))
	}

	var readers []io.Reader
	for _, p := range m.parts() {
		if p.File == "" {
			readers = append(readers, io.NewSectionReader(state, p.Offset, p.Size))
			continue
		}
		fh, err := os.Open(filepath.Join(dir, p.File))
		if err != nil {
			return fail(err)
		}
		r.files = append(r.files, fh)
		fi, err := fh.Stat()
		if err != nil {
			return fail(err)
		}
		if fi.Size() < p.Size {
			return fail(fmt.Errorf("%w: %s has %d bytes, want %d", ErrShortPart, p.File, fi.Size(), p.Size))
		}
		readers = append(readers, io.NewSectionReader(fh, 0, p.Size))
	}
	r.buf = bufio.NewReaderSize(io.MultiReader(readers...), 256<<10)
	return &m.SnapshotMeta, r, nil
}

// reader streams a snapshot's parts; Close closes every file it opened.
type reader struct {
	buf   *bufio.Reader
	files []*os.File
}

func (r *reader) Read(p []byte) (int, error) { return r.buf.Read(p) }

func (r *reader) Close() error {
	var first error
	for _, f := range r.files {
		if err := f.Close(); err != nil && first == nil {
			first = err
		}
	}
	r.files = nil
	return first
}
