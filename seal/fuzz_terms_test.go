package seal

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// FuzzKeyringTerms feeds arbitrary bytes to the multi-term keyring decoder
// and to Keyring.Upgrade: neither may panic or fail with an undocumented
// error, a keyring that decodes must re-encode to the same bytes, and an
// upgrade record that fails must leave the keyring as it was.
func FuzzKeyringTerms(f *testing.F) {
	kr, recs := rotated(f, 3)
	f.Add(encodeKeyringLocked(kr), recs[0])
	f.Add(encodeKeyringLocked(&Keyring{term: 1, key: kr.key}), recs[1])
	f.Add([]byte{keyringFormat2, 0, 0, 0, 2}, []byte{0, 0, 0, 2})
	f.Add([]byte{keyringFormat2, 0xff, 0xff, 0xff, 0xff}, []byte{})
	f.Fuzz(func(t *testing.T, plain, record []byte) {
		got, err := decodeKeyring(plain)
		switch {
		case err == nil:
			if again := encodeKeyringLocked(got); !bytes.Equal(again, plain) {
				t.Fatalf("keyring does not round-trip:\n got %x\nwant %x", again, plain)
			}
		case !errors.Is(err, ErrInvalidKeyring):
			t.Fatalf("decodeKeyring: unexpected error %v", err)
		}
		base, _ := NewKeyring(detRand(9))
		err = base.Upgrade([][]byte{record})
		switch {
		case err == nil:
			if term, _ := UpgradeTerm(record); term > 2 {
				t.Fatalf("upgrade to term %d accepted from term 1", term)
			}
		case !errors.Is(err, ErrInvalidKeyring):
			t.Fatalf("Upgrade: unexpected error %v", err)
		case base.Term() != 1:
			t.Fatal("a failed upgrade changed the keyring")
		}
	})
}

// TestWriteTermSeeds regenerates testdata/fuzz/FuzzKeyringTerms (with
// KEYRAFT_WRITE_SEEDS=1, as TestWriteSeeds).
func TestWriteTermSeeds(t *testing.T) {
	if os.Getenv("KEYRAFT_WRITE_SEEDS") != "1" {
		t.Skip("set KEYRAFT_WRITE_SEEDS=1 to regenerate testdata/fuzz")
	}
	dir := filepath.Join("testdata", "fuzz", "FuzzKeyringTerms")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	kr, recs := rotated(t, 3)
	seeds := [][2][]byte{
		{encodeKeyringLocked(kr), recs[0]},
		{encodeKeyringLocked(&Keyring{term: 1, key: kr.key}), recs[1]},
		{{keyringFormat2, 0, 0, 0, 2}, {0, 0, 0, 2}},
		{{keyringFormat2, 0xff, 0xff, 0xff, 0xff}, {}},
	}
	for i, s := range seeds {
		content := fmt.Sprintf("go test fuzz v1\n[]byte(%+q)\n[]byte(%+q)\n", s[0], s[1])
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("seed-%02d", i)), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
