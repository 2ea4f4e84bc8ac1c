// Package datadir guards a node's data directory: it holds the Raft log,
// snapshots and the audit log, so only the user the server runs as may
// reach it, as PostgreSQL insists of its own.
package datadir

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Modes of what a node writes in its data dir, whatever the umask.
const (
	DirMode  fs.FileMode = 0o700
	FileMode fs.FileMode = 0o600
)

// ErrExposed is returned for a data dir that group or others may reach.
var ErrExposed = errors.New("data dir is accessible by group or others")

// Prepare makes dir mode 0700 when it is absent. An existing dir must be a
// directory that neither group nor others may read, write or enter; what
// it holds is then tightened to 0700 (directories) and 0600 (files), as an
// older release may have written snapshots 0755/0644.
func Prepare(dir string) error {
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if err := os.MkdirAll(dir, DirMode); err != nil {
			return err
		}
		return os.Chmod(dir, DirMode)
	case err != nil:
		return err
	case !fi.IsDir():
		return fmt.Errorf("data dir %s is not a directory", dir)
	case fi.Mode().Perm()&0o077 != 0:
		return fmt.Errorf("%w: %s has mode %#o; only its owner may reach it: run chmod 0700 %s", ErrExposed, dir, fi.Mode().Perm(), dir)
	}
	return filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || path == dir {
			return err
		}
		switch {
		case d.IsDir():
			return tighten(path, d, DirMode)
		case d.Type().IsRegular():
			return tighten(path, d, FileMode)
		}
		return nil // symlinks and the like are not followed
	})
}

func tighten(path string, d fs.DirEntry, mode fs.FileMode) error {
	fi, err := d.Info()
	if err != nil {
		return err
	}
	if fi.Mode().Perm()&^mode == 0 && fi.Mode().Perm()&0o600 == 0o600 {
		return nil
	}
	return os.Chmod(path, mode)
}

// MkdirAll makes dir and its missing parents mode 0700, whatever the umask,
// and brings an existing dir to 0700.
func MkdirAll(dir string) error {
	if err := os.MkdirAll(dir, DirMode); err != nil {
		return err
	}
	return os.Chmod(dir, DirMode)
}
