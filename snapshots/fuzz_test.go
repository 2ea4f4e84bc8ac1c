package snapshots

import (
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// TestMetaSeeds keeps the seed corpus honest: valid_* decode, invalid_*
// are refused, each for the reason its name gives.
func TestMetaSeeds(t *testing.T) {
	paths, err := filepath.Glob(filepath.Join("testdata", "fuzz", "FuzzMeta", "*"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no seeds: %v", err)
	}
	for _, path := range paths {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(string(b)), "\n")
		lit, ok := strings.CutPrefix(lines[len(lines)-1], "[]byte(")
		if !ok || len(lines) != 2 || lines[0] != "go test fuzz v1" {
			t.Fatalf("%s: not a go test fuzz v1 file", path)
		}
		data, err := strconv.Unquote(strings.TrimSuffix(lit, ")"))
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		_, err = decodeMeta([]byte(data))
		if valid := strings.HasPrefix(filepath.Base(path), "valid_"); valid != (err == nil) {
			t.Errorf("%s: decode error %v", filepath.Base(path), err)
		}
	}
}

// FuzzMeta feeds meta.json bytes to the decoder Open and List use. It must
// never panic, and what it accepts must describe a stream Open can build:
// parts that add up to Size, inline parts in order, file names that stay
// in the snapshot directory. Accepted input must survive a round trip.
// Seeds are in testdata/fuzz/FuzzMeta.
func FuzzMeta(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := decodeMeta(data)
		if err != nil {
			return
		}
		var total, inline int64
		for _, p := range m.parts() {
			if p.Size < 0 || p.Offset < 0 {
				t.Fatalf("accepted part %+v", p)
			}
			if p.File == "" {
				if p.Offset != inline {
					t.Fatalf("accepted inline part at %d, want %d", p.Offset, inline)
				}
				inline += p.Size
			} else if !validPartName(p.File) {
				t.Fatalf("accepted file %q", p.File)
			}
			total += p.Size
		}
		if total != m.Size || inline != m.inlineSize() {
			t.Fatalf("parts add up to %d (%d inline), size %d", total, inline, m.Size)
		}
		if err := checkID(m.ID); err != nil {
			t.Fatalf("accepted id %q", m.ID)
		}

		b, err := encodeMeta(m)
		if err != nil {
			t.Fatalf("encode accepted meta: %v", err)
		}
		again, err := decodeMeta(b)
		if err != nil {
			t.Fatalf("re-decode %s: %v", b, err)
		}
		if !reflect.DeepEqual(m, again) {
			t.Fatalf("round trip changed meta:\n%+v\n%+v", m, again)
		}
	})
}
