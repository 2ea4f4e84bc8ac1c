package audit

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"os"
	"path/filepath"
)

// meta is what the segments cannot say about themselves: where the
// retained log starts after a trim (records below it may still sit in a
// partly kept segment and must stay invisible), the chain's anchor, and
// the Raft index a snapshot restore set. Batches carry their own index in
// their frames, so appends never write it.
//
// Every write of the meta file follows an fsync of the segments, so it
// never claims more than they hold after a power loss.
type meta struct {
	first     uint64 // the oldest retained sequence number (trimmed before it); 0: never trimmed
	anchor    Record // Seq and Hash of the newest trimmed event; Seq 0: none
	index     uint64 // the Raft index SetIndex recorded
	indexHead uint64 // the head's seq then; the claim stands only if the segments reach it
}

const (
	metaName  = "meta"
	metaMagic = "KRAUMET\x01"
	metaLen   = len(metaMagic) + 8 + 8 + 32 + 8 + 8 + 4
)

func (m meta) equal(o meta) bool {
	return m.first == o.first && m.anchor.Seq == o.anchor.Seq && m.anchor.Hash == o.anchor.Hash &&
		m.index == o.index && m.indexHead == o.indexHead
}

func (m meta) encode() []byte {
	b := make([]byte, 0, metaLen)
	b = append(b, metaMagic...)
	b = binary.BigEndian.AppendUint64(b, m.first)
	b = binary.BigEndian.AppendUint64(b, m.anchor.Seq)
	b = append(b, m.anchor.Hash[:]...)
	b = binary.BigEndian.AppendUint64(b, m.index)
	b = binary.BigEndian.AppendUint64(b, m.indexHead)
	return binary.BigEndian.AppendUint32(b, crc32.Checksum(b, castagnoli))
}

func decodeMeta(b []byte) (meta, error) {
	if len(b) != metaLen || string(b[:len(metaMagic)]) != metaMagic ||
		crc32.Checksum(b[:metaLen-4], castagnoli) != binary.BigEndian.Uint32(b[metaLen-4:]) {
		return meta{}, fmt.Errorf("%w: meta file is not one this version wrote", errCorruptStore)
	}
	b = b[len(metaMagic):]
	m := meta{first: binary.BigEndian.Uint64(b), anchor: Record{Seq: binary.BigEndian.Uint64(b[8:])}}
	copy(m.anchor.Hash[:], b[16:48])
	m.index = binary.BigEndian.Uint64(b[48:])
	m.indexHead = binary.BigEndian.Uint64(b[56:])
	return m, nil
}

// readMeta returns the zero meta when the file does not exist (a new store,
// or one never trimmed nor restored).
func readMeta(dir string) (meta, error) {
	b, err := os.ReadFile(filepath.Join(dir, metaName))
	if errors.Is(err, fs.ErrNotExist) {
		return meta{}, nil
	}
	if err != nil {
		return meta{}, err
	}
	return decodeMeta(b)
}

// writeMeta replaces the meta file atomically (temporary file, fsync,
// rename, fsync of the directory). It is written on trims, restores and
// resets only, so the fsyncs cost nothing per event.
func writeMeta(dir string, m meta) error {
	tmp := filepath.Join(dir, metaName+".tmp")
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	err = f.Chmod(0o600) // exactly, whatever the umask
	if err == nil {
		_, err = f.Write(m.encode())
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, filepath.Join(dir, metaName))
	}
	if err != nil {
		return fmt.Errorf("write audit meta: %w", err)
	}
	return syncDir(dir)
}

// syncDir makes the directory's entries (created, renamed, removed files)
// durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
