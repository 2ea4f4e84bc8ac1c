package audit

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"testing"
)

// FuzzDecodeRecord: stored bytes never panic the decoder, and a record whose
// event is a JSON object renders as a JSON object.
func FuzzDecodeRecord(f *testing.F) {
	ok := Record{Seq: 7, Event: []byte(`{"eventName":"Encrypt"}`)}
	ok.Hash = chainHash(ok.Prev, ok.Seq, ok.Event)
	f.Add(ok.encode())
	f.Add([]byte{})
	f.Add(make([]byte, recordHeader))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := decodeRecord(b)
		if err != nil {
			return
		}
		var obj map[string]any
		if json.Unmarshal(r.Event, &obj) == nil && !json.Valid(r.JSON()) {
			t.Fatalf("record of a JSON object rendered invalid JSON: %s", r.JSON())
		}
		if string(r.encode()) != string(b) {
			t.Fatal("decode/encode is not a round trip")
		}
	})
}

// segmentSeed is the bytes after a segment's header: a batch of two, a
// record that stands alone, then tail.
func segmentSeed(tail []byte) []byte {
	var b []byte
	var head Record
	for i, ev := range []string{`{"eventName":"Encrypt"}`, `{"eventName":"Decrypt"}`, `{"eventName":"AuditTrim"}`} {
		r := Record{Seq: head.Seq + 1, Prev: head.Hash, Event: []byte(ev)}
		r.Hash = chainHash(r.Prev, r.Seq, r.Event)
		flags := flagBatchEnd
		if i == 0 {
			flags = 0
		}
		b = appendFrame(b, flags, 7+uint64(i/2), &r)
		head = r
	}
	return append(b, tail...)
}

// FuzzDecodeSegment: no bytes after a segment's header panic the frame
// reader or Open's recovery scan; every frame read re-encodes to exactly
// the bytes it came from; the scan keeps a prefix of those frames, ending
// at a batch's end.
func FuzzDecodeSegment(f *testing.F) {
	full := segmentSeed(nil)
	f.Add(full)
	f.Add(full[:len(full)-5])                       // torn in the last frame
	f.Add(segmentSeed(make([]byte, 64)))            // zeros after it
	f.Add(segmentSeed([]byte("\x00\x00\x01\x00x"))) // a header, no body
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		fr := newFrameReader(bytes.NewReader(b), "fuzz", 0, int64(len(b)))
		var good int64 // bytes of frames read cleanly
		var ends []int64
		for {
			fm, n, err := fr.next()
			if err != nil {
				if err != io.EOF && !errors.Is(err, errTornFrame) && !errors.Is(err, ErrBadRecord) {
					t.Fatalf("unexpected error %v", err)
				}
				break
			}
			if enc := appendFrame(nil, fm.flags, fm.index, &fm.rec); !bytes.Equal(enc, b[good:good+n]) {
				t.Fatalf("frame at %d does not re-encode to its bytes", good)
			}
			good += n
			if fm.flags&flagBatchEnd != 0 {
				ends = append(ends, good)
			}
		}
		seg := append([]byte(segmentMagic), b...)
		sc, _ := scanSegment(bytes.NewReader(seg), "fuzz", int64(len(seg)))
		want := int64(0)
		if len(ends) > 0 {
			want = ends[len(ends)-1]
		}
		if sc.end != int64(len(segmentMagic))+want || sc.records != (len(ends) > 0) {
			t.Fatalf("scan ends at %d (records %v), want %d", sc.end, sc.records, int64(len(segmentMagic))+want)
		}
	})
}
