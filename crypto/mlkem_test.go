package crypto

import (
	"bytes"
	"crypto/mlkem"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"testing"

	"github.com/cloudflare/circl/kem/mlkem/mlkem1024"
	"github.com/cloudflare/circl/kem/mlkem/mlkem512"
	"github.com/cloudflare/circl/kem/mlkem/mlkem768"
	"github.com/keyraft/keyraft/internal/wipe"
)

// TestMLKEMKeyGenKAT: the first NIST ACVP ML-KEM keyGen vector of each
// parameter set (FIPS 203 ACVP server, tcId 1, 26, 51: seed d || z and the
// SHA-256 of the expected encapsulation key).
func TestMLKEMKeyGenKAT(t *testing.T) {
	for _, c := range []struct {
		spec           KeySpec
		seed, ekSHA256 string
	}{
		{SpecMLKEM512, "2CB843A02EF02EE109305F39119FABF49AB90A57FFECB3A0E75E179450F5276184CC9121AE56FBF39E67ADBD83AD2D3E3BB80843645206BDD9F2F629E3CC49B7",
			"f96920dc6766df52dca2428e7e751c0c27d537424c0a3f5c89153c2d5d28f898"},
		{SpecMLKEM768, "E34A701C4C87582F42264EE422D3C684D97611F2523EFE0C998AF05056D693DCA85768F3486BD32A01BF9A8F21EA938E648EAE4E5448C34C3EB88820B159EEDD",
			"7799c9d8eef172aa78c073514f2f039c240de8c5cb61bca82ba0bc46041ce279"},
		{SpecMLKEM1024, "49AC8B99BB1E6A8EA818261F8BE68BDEAA52897E7EC6C40B530BC760AB77DCE399E3246884181F8E1DD44E0C7629093330221FD67D9B7D6E1510B2DBAD8762F7",
			"62fccf5fdf805b110670b39cd5e25b1811172961ea4047bfbd589e323ce7cfbc"},
	} {
		ek, err := MLKEMPublicKey(c.spec, unhex(t, c.seed))
		if err != nil {
			t.Fatal(err)
		}
		if sum := sha256.Sum256(ek); hex.EncodeToString(sum[:]) != c.ekSHA256 {
			t.Errorf("%s: encapsulation key SHA-256 %x, want %s", c.spec, sum, c.ekSHA256)
		}
	}
}

// TestMLKEMSeedAgreement: circl (which keyraft uses for ML-KEM-512) and
// crypto/mlkem derive the same keys from one seed and open each other's
// ciphertexts, for the two sets both implement: the grounds for trusting
// circl's 512 with seeds stored in the standard library's format.
func TestMLKEMSeedAgreement(t *testing.T) {
	seed := bytes.Repeat([]byte{0x5c}, MLKEMSeedSize)
	dk, err := mlkem.NewDecapsulationKey768(seed)
	if err != nil {
		t.Fatal(err)
	}
	pk, sk := mlkem768.NewKeyFromSeed(seed)
	packed := make([]byte, mlkem768.PublicKeySize)
	pk.Pack(packed)
	if !bytes.Equal(packed, dk.EncapsulationKey().Bytes()) {
		t.Fatal("ML-KEM-768: circl and crypto/mlkem derive different keys")
	}
	ss, ct := dk.EncapsulationKey().Encapsulate()
	got := make([]byte, mlkem768.SharedKeySize)
	sk.DecapsulateTo(got, ct)
	if !bytes.Equal(got, ss) {
		t.Error("ML-KEM-768: circl does not open crypto/mlkem's ciphertext")
	}
	dk2, err := mlkem.NewDecapsulationKey1024(seed)
	if err != nil {
		t.Fatal(err)
	}
	pk2, _ := mlkem1024.NewKeyFromSeed(seed)
	packed2 := make([]byte, mlkem1024.PublicKeySize)
	pk2.Pack(packed2)
	if !bytes.Equal(packed2, dk2.EncapsulationKey().Bytes()) {
		t.Error("ML-KEM-1024: circl and crypto/mlkem derive different keys")
	}
}

// TestMLKEMEncapsulateDecapsulate: round trips for every set; a ciphertext
// of the wrong length is ErrInvalidCiphertext; a tampered one or one for
// another key yields another secret and no error (implicit rejection).
func TestMLKEMEncapsulateDecapsulate(t *testing.T) {
	for _, spec := range []KeySpec{SpecMLKEM512, SpecMLKEM768, SpecMLKEM1024} {
		k, err := GenerateKeyPair(spec, nil)
		if err != nil {
			t.Fatal(err)
		}
		seed := k.Key.([]byte)
		pubDER, err := k.PublicKeyDER()
		if err != nil {
			t.Fatal(err)
		}
		pub, err := ParsePublicKey(pubDER)
		if err != nil {
			t.Fatal(err)
		}
		ss, ct, err := MLKEMEncapsulate(spec, pub.Key.([]byte))
		if err != nil {
			t.Fatal(err)
		}
		if len(ss) != MLKEMSharedSecretSize || len(ct) != MLKEMCiphertextSize(spec) {
			t.Fatalf("%s: secret %d bytes, ciphertext %d", spec, len(ss), len(ct))
		}
		got, err := MLKEMDecapsulate(spec, seed, ct)
		if err != nil || !bytes.Equal(got, ss) {
			t.Fatalf("%s: decapsulate: %v", spec, err)
		}
		for _, bad := range [][]byte{nil, ct[1:], append(bytes.Clone(ct), 0)} {
			if _, err := MLKEMDecapsulate(spec, seed, bad); !errors.Is(err, ErrInvalidCiphertext) {
				t.Errorf("%s: %d-byte ciphertext: %v", spec, len(bad), err)
			}
		}
		tampered := bytes.Clone(ct)
		tampered[0] ^= 1
		rejected, err := MLKEMDecapsulate(spec, seed, tampered)
		if err != nil || len(rejected) != MLKEMSharedSecretSize || bytes.Equal(rejected, ss) {
			t.Errorf("%s: tampered ciphertext: %v", spec, err)
		}
		again, _ := MLKEMDecapsulate(spec, seed, tampered)
		if !bytes.Equal(again, rejected) {
			t.Errorf("%s: implicit rejection is not deterministic", spec)
		}
		if _, err := MLKEMDecapsulate(spec, seed[1:], ct); !errors.Is(err, ErrMalformedKey) {
			t.Errorf("%s: short seed: %v", spec, err)
		}
		if _, _, err := MLKEMEncapsulate(spec, pub.Key.([]byte)[1:]); !errors.Is(err, ErrMalformedKey) {
			t.Errorf("%s: short encapsulation key: %v", spec, err)
		}
	}
	if _, _, err := MLKEMEncapsulate(SpecMLDSA44, nil); !errors.Is(err, ErrUnsupportedKeySpec) {
		t.Errorf("ML-DSA spec: %v", err)
	}
}

// TestMLKEMEncapsulationKeyModulus: FIPS 203 7.2's check; a coefficient of
// q = 3329 (0xD01 in 12 bits) makes the key invalid, for every set.
func TestMLKEMEncapsulationKeyModulus(t *testing.T) {
	for _, spec := range []KeySpec{SpecMLKEM512, SpecMLKEM768, SpecMLKEM1024} {
		k, _ := GenerateKeyPair(spec, nil)
		ek, err := MLKEMPublicKey(spec, k.Key.([]byte))
		if err != nil {
			t.Fatal(err)
		}
		bad := bytes.Clone(ek)
		bad[0], bad[1] = 0x01, bad[1]&0xf0|0x0d // first coefficient := 3329
		if _, _, err := MLKEMEncapsulate(spec, bad); !errors.Is(err, ErrMalformedKey) {
			t.Errorf("%s: out-of-range coefficient accepted: %v", spec, err)
		}
		spki, _ := marshalSPKI(pqOIDs[spec], nil, bad)
		if _, err := ParsePublicKey(spki); !errors.Is(err, ErrMalformedKey) {
			t.Errorf("%s: ParsePublicKey accepted an out-of-range key: %v", spec, err)
		}
	}
}

// TestMLKEMKeysWipeable: the expanded keys withMLKEMKey drops can be
// zeroed whole; a Go or circl release that changes that fails here.
func TestMLKEMKeysWipeable(t *testing.T) {
	seed := bytes.Repeat([]byte{1}, MLKEMSeedSize)
	dk, _ := mlkem.NewDecapsulationKey768(seed)
	dk2, _ := mlkem.NewDecapsulationKey1024(seed)
	_, sk := mlkem512.NewKeyFromSeed(seed)
	for name, v := range map[string]any{"crypto/mlkem 768": dk, "crypto/mlkem 1024": dk2, "circl 512": sk} {
		if !wipe.Deep(v) {
			t.Errorf("%s decapsulation key cannot be wiped", name)
		}
	}
}
