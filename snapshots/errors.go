package snapshots

import "errors"

var (
	// ErrBadID is returned for a snapshot id that is not one this store
	// writes: empty, holding a path separator or "..", or a temporary name.
	ErrBadID = errors.New("invalid snapshot id")
	// ErrBadMeta is returned for a meta.json that does not decode or whose
	// parts do not add up (see meta.validate).
	ErrBadMeta = errors.New("malformed snapshot meta")
	// ErrChecksum is returned by Open when state.bin does not match the CRC
	// recorded in meta.json, or is not as long as its inline parts.
	ErrChecksum = errors.New("snapshot state checksum mismatch")
	// ErrShortPart is returned by Open when a linked part file holds fewer
	// bytes than meta.json says were taken from it.
	ErrShortPart = errors.New("snapshot part shorter than recorded")
	// ErrShortFile is returned by WriteFile when the file holds fewer bytes
	// than the caller asked to include.
	ErrShortFile = errors.New("file shorter than requested size")
	// ErrSinkClosed is returned by a write to a sink already closed or
	// cancelled.
	ErrSinkClosed = errors.New("snapshot sink is closed")
)
