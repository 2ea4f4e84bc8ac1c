package audit

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
)

// A segment file is segmentMagic followed by one frame per record:
//
//	length u32 | crc32c(body) u32 | body
//	body = flags u8 | Raft index u64 | record (seq u64 | prev [32] | hash [32] | event)
//
// all big-endian. The length and checksum are what let Open tell a torn
// tail (a write the crash cut short) from records; the chain hash inside
// the record is what lets Verify tell a forged record from a true one (an
// attacker can recompute a CRC, not the chain from the anchor on).
const (
	segmentMagic   = "KRAUDIT\x01" // the last byte is the format version
	frameHeaderLen = 8
	frameMetaLen   = 9
	minFrame       = frameMetaLen + recordHeader
	// maxFrame bounds one frame so that a corrupt length cannot make a
	// reader allocate wildly. Events are a few KiB; the bound is the one
	// snapshots put on a record (fsm/snapshot.go), so that whatever a
	// snapshot carries, a segment takes.
	maxFrame = 64 << 20

	// flagBatchEnd marks the last record of a Raft entry's batch (or a
	// record that stands alone: a trim's event, a record loaded from a
	// snapshot). Open keeps the log only up to the last such record, so
	// that the index it recovers never claims a batch that is half there.
	flagBatchEnd byte = 1
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// frame is one decoded frame. rec.Event aliases the reader's buffer until
// its next call.
type frame struct {
	flags byte
	index uint64 // the Raft index of the record's batch; 0 when loaded or unindexed
	rec   Record
}

// CorruptError is a frame whose bytes are not what the writer wrote: a
// checksum that does not match, an impossible length, a body that is not a
// record. Verify reports it as a changed event; other readers return it.
type CorruptError struct {
	Path   string
	Offset int64
	Reason string
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("audit segment %s at offset %d: %s", e.Path, e.Offset, e.Reason)
}

func (e *CorruptError) Unwrap() error { return ErrBadRecord }

// appendFrame encodes r as one frame at the end of dst.
func appendFrame(dst []byte, flags byte, index uint64, r *Record) []byte {
	start := len(dst)
	dst = append(dst, 0, 0, 0, 0, 0, 0, 0, 0, flags)
	dst = binary.BigEndian.AppendUint64(dst, index)
	dst = binary.BigEndian.AppendUint64(dst, r.Seq)
	dst = append(dst, r.Prev[:]...)
	dst = append(dst, r.Hash[:]...)
	dst = append(dst, r.Event...)
	body := dst[start+frameHeaderLen:]
	binary.BigEndian.PutUint32(dst[start:], uint32(len(body)))
	binary.BigEndian.PutUint32(dst[start+4:], crc32.Checksum(body, castagnoli))
	return dst
}

// frameReader decodes frames sequentially from a segment's bytes with
// buffered reads, so a reader's memory is bounded by one record however
// large the segment.
type frameReader struct {
	r    *bufio.Reader
	path string
	off  int64 // segment offset of the next frame
	end  int64 // segment offset where the bytes end
	hdr  [frameHeaderLen]byte
	body []byte
}

// newFrameReader reads the frames in r, which holds a segment's bytes from
// offset off to end.
func newFrameReader(r io.Reader, path string, off, end int64) *frameReader {
	return &frameReader{r: bufio.NewReaderSize(r, 64<<10), path: path, off: off, end: end}
}

// next returns the next frame and its length in bytes. It returns io.EOF
// at a clean end, errTornFrame when the bytes end inside a frame, and a
// *CorruptError for a frame that is complete but wrong.
func (fr *frameReader) next() (frame, int64, error) {
	n, err := io.ReadFull(fr.r, fr.hdr[:])
	if err == io.EOF {
		return frame{}, 0, io.EOF
	}
	if err != nil {
		return frame{}, 0, fmt.Errorf("%w: %s: %d header bytes at offset %d", errTornFrame, fr.path, n, fr.off)
	}
	length := binary.BigEndian.Uint32(fr.hdr[:])
	sum := binary.BigEndian.Uint32(fr.hdr[4:])
	if length == 0 && sum == 0 {
		return frame{}, 0, fmt.Errorf("%w: %s: zeros at offset %d", errTornFrame, fr.path, fr.off)
	}
	if length < minFrame || length > maxFrame {
		return frame{}, 0, fr.corrupt(fmt.Sprintf("impossible record length %d", length))
	}
	if fr.off+frameHeaderLen+int64(length) > fr.end {
		return frame{}, 0, fmt.Errorf("%w: %s: a record of %d bytes at offset %d runs past the end", errTornFrame, fr.path, length, fr.off)
	}
	if cap(fr.body) < int(length) {
		fr.body = make([]byte, length)
	}
	fr.body = fr.body[:length]
	if _, err := io.ReadFull(fr.r, fr.body); err != nil {
		return frame{}, 0, fmt.Errorf("%w: %s at offset %d: %v", errTornFrame, fr.path, fr.off, err)
	}
	if crc32.Checksum(fr.body, castagnoli) != sum {
		return frame{}, 0, fr.corrupt("checksum mismatch")
	}
	f, err := decodeFrameBody(fr.body)
	if err != nil {
		return frame{}, 0, fr.corrupt(err.Error())
	}
	size := int64(frameHeaderLen) + int64(length)
	fr.off += size
	return f, size, nil
}

func (fr *frameReader) corrupt(reason string) error {
	return &CorruptError{Path: fr.path, Offset: fr.off, Reason: reason}
}

// decodeFrameBody parses a body whose checksum matched; the event aliases b.
func decodeFrameBody(b []byte) (frame, error) {
	if len(b) < frameMetaLen {
		return frame{}, ErrBadRecord
	}
	r, err := parseRecord(b[frameMetaLen:])
	if err != nil {
		return frame{}, err
	}
	return frame{flags: b[0], index: binary.BigEndian.Uint64(b[1:]), rec: r}, nil
}
