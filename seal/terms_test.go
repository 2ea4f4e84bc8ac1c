package seal

import (
	"bytes"
	"errors"
	"testing"

	"github.com/keyraft/keyraft/crypto"
)

// rotated returns a keyring of n terms (rotated n-1 times) and the upgrade
// records that rotation produced.
func rotated(t testing.TB, n int) (*Keyring, [][]byte) {
	t.Helper()
	kr, err := NewKeyring(detRand(9))
	if err != nil {
		t.Fatal(err)
	}
	var recs [][]byte
	for i := 1; i < n; i++ {
		term, rec, err := kr.NewUpgrade(detRand(byte(10 + i)))
		if err != nil {
			t.Fatal(err)
		}
		if term != uint32(i+1) {
			t.Fatalf("upgrade term %d, want %d", term, i+1)
		}
		if kr.Term() != uint32(i) {
			t.Fatal("NewUpgrade changed the keyring before the record was applied")
		}
		if err := kr.Upgrade([][]byte{rec}); err != nil {
			t.Fatal(err)
		}
		recs = append(recs, rec)
	}
	return kr, recs
}

func TestKeyringTermsOpenOldValues(t *testing.T) {
	kr, err := NewKeyring(detRand(3))
	if err != nil {
		t.Fatal(err)
	}
	old, _ := kr.Seal("keys/a/1", []byte("term one"), nil)
	_, rec, err := kr.NewUpgrade(nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := kr.Upgrade([][]byte{rec}); err != nil {
		t.Fatal(err)
	}
	fresh, _ := kr.Seal("keys/a/2", []byte("term two"), nil)
	if term, _ := ValueTerm(old); term != 1 {
		t.Fatalf("old value term %d", term)
	}
	if term, _ := ValueTerm(fresh); term != 2 {
		t.Fatalf("new value sealed under term %d, want 2", term)
	}
	for path, sealed := range map[string][]byte{"keys/a/1": old, "keys/a/2": fresh} {
		if _, err := kr.Open(path, sealed); err != nil {
			t.Fatalf("open %s: %v", path, err)
		}
	}
	// A value under a term the keyring never held is refused, not opened under another key.
	forged := bytes.Clone(fresh)
	forged[3] = 9
	if _, err := kr.Open("keys/a/2", forged); !errors.Is(err, crypto.ErrInvalidCiphertext) {
		t.Fatalf("unknown term: %v", err)
	}
	// Applying the same record again changes nothing; a gap is refused.
	if err := kr.Upgrade([][]byte{rec}); err != nil || kr.Term() != 2 {
		t.Fatalf("re-applied upgrade: %v, term %d", err, kr.Term())
	}
	gap := bytes.Clone(rec)
	gap[3] = 5
	if err := kr.Upgrade([][]byte{gap}); !errors.Is(err, ErrInvalidKeyring) {
		t.Fatalf("upgrade with a gap: %v", err)
	}
	// An upgrade record for term 3 sealed under a keyring the node does not hold fails.
	other, _ := NewKeyring(detRand(4))
	other.term = 2
	_, foreign, _ := other.NewUpgrade(nil)
	if err := kr.Upgrade([][]byte{foreign}); !errors.Is(err, ErrInvalidKeyring) || kr.Term() != 2 {
		t.Fatalf("foreign upgrade: %v, term %d", err, kr.Term())
	}
}

func TestKeyringMultiTermSealRoundTrip(t *testing.T) {
	root := bytes.Repeat([]byte{1}, crypto.KeySize)
	kr, recs := rotated(t, 4)
	values := map[string][]byte{}
	for i := range 4 {
		// Seal one value under each term by replaying the keyring's history.
		step, _ := NewKeyring(detRand(9))
		if err := step.Upgrade(recs[:i]); err != nil {
			t.Fatal(err)
		}
		path := "keys/t/" + string(rune('1'+i))
		values[path], _ = step.Seal(path, []byte(path), nil)
	}
	sealed, err := SealKeyring(root, kr, nil)
	if err != nil {
		t.Fatal(err)
	}
	back, err := OpenKeyring(root, sealed)
	if err != nil {
		t.Fatal(err)
	}
	if back.Term() != 4 || len(back.old) != 3 {
		t.Fatalf("reopened keyring: term %d, %d older terms", back.Term(), len(back.old))
	}
	for path, v := range values {
		pt, err := back.Open(path, v)
		if err != nil || string(pt) != path {
			t.Fatalf("open %s after round trip: %v", path, err)
		}
	}
	// A keyring sealed at term 2 catches up through the records.
	early, _ := NewKeyring(detRand(9))
	_ = early.Upgrade(recs[:1])
	sealedEarly, _ := SealKeyring(root, early, nil)
	again, _ := OpenKeyring(root, sealedEarly)
	if err := again.Upgrade(recs); err != nil || again.Term() != 4 {
		t.Fatalf("catch-up: %v, term %d", err, again.Term())
	}
}

func TestKeyringZeroDropsEveryTerm(t *testing.T) {
	kr, _ := rotated(t, 3)
	keys := [][]byte{kr.key}
	for _, k := range kr.old {
		keys = append(keys, k)
	}
	b := NewBarrier()
	b.keyring = kr
	b.Seal()
	for i, k := range keys {
		if !bytes.Equal(k, make([]byte, len(k))) {
			t.Fatalf("term key %d not zeroed on seal", i)
		}
	}
	if _, err := kr.Seal("p", nil, nil); !errors.Is(err, ErrSealed) {
		t.Fatalf("seal after zero: %v", err)
	}
	if _, _, err := kr.NewUpgrade(nil); !errors.Is(err, ErrSealed) {
		t.Fatalf("upgrade after zero: %v", err)
	}
	if err := kr.Upgrade(nil); !errors.Is(err, ErrSealed) {
		t.Fatalf("Upgrade after zero: %v", err)
	}
}

func TestDecodeKeyringRefusesMalformed(t *testing.T) {
	kr, _ := rotated(t, 3)
	good := encodeKeyringLocked(kr)
	if _, err := decodeKeyring(good); err != nil {
		t.Fatal(err)
	}
	descending := bytes.Clone(good)
	descending[8] = 7 // first term 1 → 7, above the next
	for name, b := range map[string][]byte{
		"truncated":     good[:len(good)-1],
		"count of one":  append([]byte{keyringFormat2, 0, 0, 0, 1}, good[5:5+keyringEntrySize]...),
		"descending":    descending,
		"unknown":       append([]byte{3}, good[1:]...),
		"format1 term0": append([]byte{keyringFormat1, 0, 0, 0, 0}, make([]byte, crypto.KeySize)...),
	} {
		if _, err := decodeKeyring(b); !errors.Is(err, ErrInvalidKeyring) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestGatherRekeyShares(t *testing.T) {
	in := mustInit(t, 5, 3)
	var g Gather
	if p, root, err := g.Add("n1", 3, in.shares[0]); p != 1 || root != nil || err != nil {
		t.Fatalf("first share: %d %v", p, err)
	}
	if p, _, _ := g.Add("n1", 3, in.shares[0]); p != 1 {
		t.Fatalf("repeated share counted: %d", p)
	}
	if _, _, err := g.Add("n1", 3, in.shares[1][:10]); !errors.Is(err, ErrInvalidShare) || g.Progress("n1") != 1 {
		t.Fatalf("short share: %v", err)
	}
	// Another ceremony drops what was gathered for the first.
	if p, _, _ := g.Add("n2", 3, in.shares[1]); p != 1 || g.Progress("n1") != 0 {
		t.Fatalf("nonce change kept progress: %d", p)
	}
	held := g.shares[0]
	g.Add("n2", 3, in.shares[2])
	_, root, err := g.Add("n2", 3, in.shares[3])
	if err != nil || !bytes.Equal(root, in.rootKey) {
		t.Fatalf("combine: %v", err)
	}
	if g.Progress("n2") != 0 || !bytes.Equal(held, make([]byte, len(held))) {
		t.Fatal("shares not zeroed and dropped after combining")
	}
	g.Add("n3", 3, in.shares[0])
	held = g.shares[0]
	g.Reset()
	if !bytes.Equal(held, make([]byte, len(held))) {
		t.Fatal("Reset did not zero the share")
	}
}
