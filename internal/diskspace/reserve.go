package diskspace

import (
	"errors"
	"io/fs"
	"os"
	"sync"
)

// Reserve is a file of allocated space in the data dir that the node gives
// back to its filesystem when a write finds the disk full, as CockroachDB's
// emergency ballast: the few writes Raft itself cannot do without (its
// term, its vote, a new leader's first entry) then still succeed, so a node
// restarted on a full disk elects, replays and serves its status, and a
// follower applies what its leader committed. -min-free-disk keeps client
// writes from using what it frees. The reserve is made again once free
// space allows.
type Reserve struct {
	path string
	size int64

	mu sync.Mutex // guards the file's existence between Release and Ensure
}

// NewReserve describes a reserve of size bytes at path; nothing is written
// until Ensure.
func NewReserve(path string, size int64) *Reserve {
	return &Reserve{path: path, size: size}
}

// Held reports whether the reserve file is on disk.
func (r *Reserve) Held() bool {
	st, err := os.Stat(r.path)
	return err == nil && st.Size() >= r.size
}

// Release deletes the reserve file, returning its space; it reports whether
// there was one to release.
func (r *Reserve) Release() bool {
	if r == nil || r.size <= 0 {
		return false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	err := os.Remove(r.path)
	return err == nil
}

// Ensure makes the reserve file when it is missing and at least spare
// bytes would stay free after it. A partial file (the disk filled while it
// was made) is removed.
func (r *Reserve) Ensure(spare uint64, dir string) error {
	if r == nil || r.size <= 0 {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if st, err := os.Stat(r.path); err == nil && st.Size() >= r.size {
		return nil
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	free, _, err := Stat(dir)
	if err != nil {
		return err
	}
	if free < uint64(r.size)+spare {
		return nil
	}
	f, err := os.OpenFile(r.path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	err = allocate(f, r.size)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(r.path)
	}
	return err
}

func writeZeros(f *os.File, size int64) error {
	buf := make([]byte, 1<<20)
	for off := int64(0); off < size; off += int64(len(buf)) {
		n := min(int64(len(buf)), size-off)
		if _, err := f.WriteAt(buf[:n], off); err != nil {
			return err
		}
	}
	return nil
}
