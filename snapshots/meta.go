package snapshots

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strings"

	"github.com/hashicorp/raft"
)

const (
	metaFile  = "meta.json"
	stateFile = "state.bin"
	tmpSuffix = ".tmp"
	// partPrefix names linked part files: part-0001, part-0002, …
	partPrefix = "part-"
	// maxMetaSize bounds what a damaged or hostile meta.json can make Open
	// and List allocate; a real one is a few kilobytes plus ~60 bytes a part.
	maxMetaSize = 64 << 20
)

// meta is meta.json. Its first two members are exactly what
// raft.FileSnapshotStore writes, so that store's snapshots open here and a
// snapshot made only of Write calls is one that store could open too.
type meta struct {
	raft.SnapshotMeta
	// CRC is the CRC-64 (ECMA) of state.bin, as raft computes it. It covers
	// the inline bytes only: linked parts are the caller's files, read back
	// by length (see DESIGN.md).
	CRC []byte
	// Parts lists the stream in order. Absent in raft.FileSnapshotStore's
	// meta.json, which means one inline part holding all of state.bin.
	Parts []part `json:",omitempty"`
}

// part is one stretch of the snapshot stream.
type part struct {
	// File is the name of a hard link in the snapshot directory; empty for
	// bytes stored in state.bin.
	File string `json:",omitempty"`
	// Offset is where an inline part starts in state.bin; 0 for a link,
	// whose part is always a prefix of the file.
	Offset int64
	// Size is the part's length in the stream.
	Size int64
}

// decodeMeta parses and validates meta.json. Everything Open does with a
// meta (seek offsets, file names, byte counts) is checked here first, so
// that a damaged file yields ErrBadMeta and never a panic or a path
// outside the snapshot directory.
func decodeMeta(b []byte) (*meta, error) {
	m := &meta{}
	if err := json.Unmarshal(b, m); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadMeta, err)
	}
	if err := m.validate(); err != nil {
		return nil, err
	}
	if len(m.Parts) == 0 {
		m.Parts = nil // "Parts":[] means what no Parts means; encode omits it
	}
	return m, nil
}

func encodeMeta(m *meta) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf) // same trailing newline as raft's writer
	if err := enc.Encode(m); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func (m *meta) validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrBadMeta, fmt.Sprintf(format, args...))
	}
	if m.Version < raft.SnapshotVersionMin || m.Version > raft.SnapshotVersionMax {
		return bad("unsupported snapshot version %d", m.Version)
	}
	if err := checkID(m.ID); err != nil {
		return bad("id %q: %v", m.ID, err)
	}
	if len(m.CRC) != 8 {
		return bad("CRC has %d bytes, want 8", len(m.CRC))
	}
	if m.Size < 0 {
		return bad("negative size %d", m.Size)
	}
	var inline, total int64
	for i, p := range m.Parts {
		if p.Size < 0 {
			return bad("part %d: negative size %d", i, p.Size)
		}
		if p.File == "" {
			// Inline parts are written in order, each where the last ended;
			// anything else is not a file this package wrote.
			if p.Offset != inline {
				return bad("part %d: inline offset %d, want %d", i, p.Offset, inline)
			}
			if p.Size > math.MaxInt64-inline {
				return bad("part %d: inline bytes overflow", i)
			}
			inline += p.Size
		} else {
			if !validPartName(p.File) {
				return bad("part %d: file name %q", i, p.File)
			}
			if p.Offset != 0 {
				return bad("part %d: linked part at offset %d", i, p.Offset)
			}
		}
		if p.Size > math.MaxInt64-total {
			return bad("part %d: total size overflows", i)
		}
		total += p.Size
	}
	if len(m.Parts) > 0 && total != m.Size {
		return bad("parts add up to %d bytes, size is %d", total, m.Size)
	}
	return nil
}

// parts is the stream's layout, with raft.FileSnapshotStore's meta.json
// (no Parts) read as all of state.bin.
func (m *meta) parts() []part {
	if len(m.Parts) == 0 {
		return []part{{Size: m.Size}}
	}
	return m.Parts
}

// inlineSize is the length state.bin must have.
func (m *meta) inlineSize() int64 {
	var n int64
	for _, p := range m.parts() {
		if p.File == "" {
			n += p.Size
		}
	}
	return n
}

// checkID refuses ids that could name anything but a complete snapshot
// directory directly under the store's: raft hands Open ids it got from
// List, but an id also arrives in meta.json, which is only a file.
func checkID(id string) error {
	switch {
	case id == "", id == ".", id == "..":
		return ErrBadID
	case strings.ContainsAny(id, `/\`+"\x00"), strings.Contains(id, ".."):
		return ErrBadID
	case strings.HasSuffix(id, tmpSuffix):
		return ErrBadID
	}
	return nil
}

func partName(n int) string {
	return fmt.Sprintf("%s%04d", partPrefix, n)
}

func validPartName(name string) bool {
	digits, ok := strings.CutPrefix(name, partPrefix)
	if !ok || digits == "" || len(digits) > 10 {
		return false
	}
	for _, c := range digits {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
