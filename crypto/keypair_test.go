package crypto

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/asn1"
	"encoding/hex"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"testing"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"
)

// TestGenerateDataKeyPair: for every spec, the PKCS#8 and SPKI parse back
// to the same spec, the public key is the private key's, and encoding what
// was parsed gives the same bytes; the stdlib kinds also parse with
// crypto/x509.
func TestGenerateDataKeyPair(t *testing.T) {
	for _, spec := range AllKeySpecs {
		if isRSA(spec) {
			continue // TestGenerateDataKeyPairRSA, with the cached keys
		}
		priv, pub, err := GenerateDataKeyPair(spec, nil)
		if err != nil {
			t.Fatalf("%s: %v", spec, err)
		}
		checkKeyPair(t, spec, priv, pub)
	}
}

func TestGenerateDataKeyPairRSA(t *testing.T) {
	priv, pub, err := GenerateDataKeyPair(SpecRSA2048, nil)
	if err != nil {
		t.Fatal(err)
	}
	checkKeyPair(t, SpecRSA2048, priv, pub)
	for _, spec := range []KeySpec{SpecRSA3072, SpecRSA4096} {
		rsaKey(t, spec)
		priv, err := MarshalPrivateKey(rsaKeys[spec])
		if err != nil {
			t.Fatal(err)
		}
		pub, err := rsaKeys[spec].PublicKeyDER()
		if err != nil {
			t.Fatal(err)
		}
		checkKeyPair(t, spec, priv, pub)
	}
}

func checkKeyPair(t *testing.T, spec KeySpec, privDER, pubDER []byte) {
	t.Helper()
	k, err := ParsePrivateKey(privDER)
	if err != nil || k.Spec != spec {
		t.Fatalf("%s: private key parses as %v, %v", spec, k, err)
	}
	if again, err := MarshalPrivateKey(k); err != nil || !bytes.Equal(again, privDER) {
		t.Errorf("%s: private key does not re-encode to itself: %v", spec, err)
	}
	derived, err := k.PublicKeyDER()
	if err != nil || !bytes.Equal(derived, pubDER) {
		t.Errorf("%s: public key is not the private key's: %v", spec, err)
	}
	p, err := ParsePublicKey(pubDER)
	if err != nil || p.Spec != spec {
		t.Fatalf("%s: public key parses as %v, %v", spec, p, err)
	}
	if again, err := MarshalPublicKey(p); err != nil || !bytes.Equal(again, pubDER) {
		t.Errorf("%s: public key does not re-encode to itself: %v", spec, err)
	}
	switch k.Key.(type) {
	case *rsa.PrivateKey, *ecdsa.PrivateKey, ed25519.PrivateKey:
		if _, err := x509.ParsePKCS8PrivateKey(privDER); err != nil {
			t.Errorf("%s: crypto/x509 refuses the private key: %v", spec, err)
		}
		if _, err := x509.ParsePKIXPublicKey(pubDER); err != nil {
			t.Errorf("%s: crypto/x509 refuses the public key: %v", spec, err)
		}
	}
	if !k.Wipe() {
		t.Errorf("%s: private key could not be wiped whole", spec)
	}
}

// TestPQKeyEncodings pins the DER of ML-KEM and ML-DSA keys: seed-form
// PKCS#8 (RFC 9935, RFC 9881) whose length is the same for every ML-KEM
// set (as AWS documents for GenerateDataKeyPair), SPKI with the raw key
// and absent parameters.
func TestPQKeyEncodings(t *testing.T) {
	for _, c := range []struct {
		spec            KeySpec
		oidHex          string
		privLen, pubLen int
	}{
		{SpecMLKEM512, "608648016503040401", 86, 800},
		{SpecMLKEM768, "608648016503040402", 86, 1184},
		{SpecMLKEM1024, "608648016503040403", 86, 1568},
		{SpecMLDSA44, "608648016503040311", 54, 1312},
		{SpecMLDSA65, "608648016503040312", 54, 1952},
		{SpecMLDSA87, "608648016503040313", 54, 2592},
	} {
		priv, pub, err := GenerateDataKeyPair(c.spec, nil)
		if err != nil {
			t.Fatal(err)
		}
		seedLen := c.privLen - 22
		wantPrefix := "3081" // never: both lengths fit one byte
		if c.privLen < 128 {
			wantPrefix = hex.EncodeToString([]byte{0x30, byte(c.privLen - 2), 2, 1, 0, 0x30, 0x0b, 6, 9}) + c.oidHex +
				hex.EncodeToString([]byte{4, byte(seedLen + 2), 0x80, byte(seedLen)})
		}
		if len(priv) != c.privLen || hex.EncodeToString(priv[:22]) != wantPrefix {
			t.Errorf("%s: PKCS#8 %d bytes, prefix %x; want %d, %s", c.spec, len(priv), priv[:22], c.privLen, wantPrefix)
		}
		var spki subjectPublicKeyInfo
		if _, err := asn1.Unmarshal(pub, &spki); err != nil {
			t.Fatal(err)
		}
		if hex.EncodeToString(pub[4:17]) != "300b0609"+c.oidHex || len(spki.PublicKey.Bytes) != c.pubLen {
			t.Errorf("%s: SPKI algorithm %x, key %d bytes", c.spec, pub[4:17], len(spki.PublicKey.Bytes))
		}
	}
}

// TestKeyPairOpenSSL: openssl reads the keys written here (it derives the
// same public key from the PKCS#8), and keys openssl writes parse here to
// the public key openssl gives. OpenSSL 3.0 knows no ML-KEM or ML-DSA.
func TestKeyPairOpenSSL(t *testing.T) {
	openssl := needOpenSSL(t)
	for _, spec := range []KeySpec{SpecRSA2048, SpecECCNISTP256, SpecECCNISTP384, SpecECCNISTP521, SpecECCSECGP256K1, SpecEd25519} {
		priv, pub := keyFiles(t, spec)
		want, err := os.ReadFile(pub)
		if err != nil {
			t.Fatal(err)
		}
		got := run(t, openssl, "pkey", "-inform", "DER", "-in", priv, "-pubout", "-outform", "DER")
		if !bytes.Equal(got, want) {
			t.Errorf("%s: openssl derives another public key from our PKCS#8", spec)
		}
		if got := run(t, openssl, "pkey", "-pubin", "-inform", "DER", "-in", pub, "-outform", "DER"); !bytes.Equal(got, want) {
			t.Errorf("%s: openssl re-encodes our SPKI differently", spec)
		}
	}
	for spec, args := range map[KeySpec][]string{
		SpecECCSECGP256K1: {"-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:secp256k1"},
		SpecECCNISTP384:   {"-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384"},
		SpecEd25519:       {"-algorithm", "ED25519"},
		SpecRSA2048:       {"-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"},
	} {
		dir := t.TempDir()
		raw, file := filepath.Join(dir, "raw.der"), filepath.Join(dir, "k.der")
		run(t, openssl, append([]string{"genpkey", "-outform", "DER", "-out", raw}, args...)...)
		// genpkey writes EC keys in SEC 1 form; PKCS#8 is what AWS takes.
		run(t, openssl, "pkcs8", "-topk8", "-nocrypt", "-inform", "DER", "-outform", "DER", "-in", raw, "-out", file)
		k := mustParsePrivate(t, file)
		if k.Spec != spec {
			t.Errorf("openssl %v key parses as %s", args, k.Spec)
		}
		ours, err := k.PublicKeyDER()
		if err != nil {
			t.Fatal(err)
		}
		theirs := run(t, openssl, "pkey", "-inform", "DER", "-in", file, "-pubout", "-outform", "DER")
		if !bytes.Equal(ours, theirs) {
			t.Errorf("%s: public key of openssl's key differs from openssl's", spec)
		}
	}
}

// TestParsePrivateKeyRefusals: keys that look right but are not.
func TestParsePrivateKeyRefusals(t *testing.T) {
	k1, _ := GenerateKeyPair(SpecECCSECGP256K1, nil)
	other, _ := GenerateKeyPair(SpecECCSECGP256K1, nil)
	secpPKCS8 := func(scalar []byte, pub []byte) []byte {
		inner, err := asn1.Marshal(ecPrivateKey{Version: 1, PrivateKey: scalar,
			PublicKey: asn1.BitString{Bytes: pub, BitLength: 8 * len(pub)}})
		if err != nil {
			t.Fatal(err)
		}
		params, _ := asn1.Marshal(oidSecp256k1)
		der, err := asn1.Marshal(pkcs8{Algorithm: algorithmIdentifier{Algorithm: oidECPublicKey,
			Parameters: asn1.RawValue{FullBytes: params}}, PrivateKey: inner})
		if err != nil {
			t.Fatal(err)
		}
		return der
	}
	n := secp256k1.Params().N
	pqPKCS8 := func(oid asn1.ObjectIdentifier, inner []byte) []byte {
		der, err := asn1.Marshal(pkcs8{Algorithm: algorithmIdentifier{Algorithm: oid}, PrivateKey: inner})
		if err != nil {
			t.Fatal(err)
		}
		return der
	}
	seed := bytes.Repeat([]byte{7}, MLKEMSeedSize)
	expanded, err := expandPQ(SpecMLKEM768, seed)
	if err != nil {
		t.Fatal(err)
	}
	both := func(s, e []byte) []byte {
		b, err := asn1.Marshal(struct{ Seed, Expanded []byte }{s, e})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	octets := func(b []byte) []byte { o, _ := asn1.Marshal(b); return o }
	badExpanded := bytes.Clone(expanded)
	badExpanded[0] ^= 1
	rsa1024, err := rsa.GenerateKey(nil, 1024)
	if err != nil {
		t.Fatal(err)
	}
	rsa1024DER, _ := x509.MarshalPKCS8PrivateKey(rsa1024)
	k1Pub := k1.Key.(*secp256k1.PrivateKey).PubKey().SerializeUncompressed()
	for _, c := range []struct {
		name string
		der  []byte
		want error
	}{
		{"secp256k1 zero scalar", secpPKCS8(make([]byte, 32), nil), ErrMalformedKey},
		{"secp256k1 scalar n", secpPKCS8(n.FillBytes(make([]byte, 32)), nil), ErrMalformedKey},
		{"secp256k1 short scalar", secpPKCS8([]byte{1}, nil), ErrMalformedKey},
		{"secp256k1 other public key", secpPKCS8(scalarOf(k1), other.Key.(*secp256k1.PrivateKey).PubKey().SerializeUncompressed()), ErrMalformedKey},
		{"ML-KEM expanded only", pqPKCS8(oidMLKEM768, octets(expanded)), ErrUnsupportedKeySpec},
		{"ML-KEM both, mismatched", pqPKCS8(oidMLKEM768, both(seed, badExpanded)), ErrMalformedKey},
		{"ML-KEM short seed", pqPKCS8(oidMLKEM768, []byte{0x80, 2, 1, 2}), ErrMalformedKey},
		{"ML-DSA with ML-KEM's seed size", pqPKCS8(oidMLDSA44, append([]byte{0x80, 64}, seed...)), ErrMalformedKey},
		{"RSA-1024", rsa1024DER, ErrUnsupportedKeySpec},
		{"trailing byte", append(secpPKCS8(scalarOf(k1), k1Pub), 0), ErrMalformedKey},
		{"empty", nil, ErrMalformedKey},
	} {
		if _, err := ParsePrivateKey(c.der); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
	if k, err := ParsePrivateKey(secpPKCS8(scalarOf(k1), k1Pub)); err != nil || k.Spec != SpecECCSECGP256K1 {
		t.Errorf("secp256k1 with its public key: %v", err)
	}
	if k, err := ParsePrivateKey(pqPKCS8(oidMLKEM768, both(seed, expanded))); err != nil || !bytes.Equal(k.Key.([]byte), seed) {
		t.Errorf("ML-KEM both form: %v", err)
	}
}

func allZero(words []big.Word) bool {
	for _, w := range words {
		if w != 0 {
			return false
		}
	}
	return true
}

func scalarOf(k *PrivateKey) []byte {
	b := k.Key.(*secp256k1.PrivateKey).Key.Bytes()
	return b[:]
}

// TestWipe: after Wipe the secret numbers read zero.
func TestWipe(t *testing.T) {
	for _, spec := range []KeySpec{SpecRSA2048, SpecECCNISTP256, SpecECCSECGP256K1, SpecEd25519, SpecMLDSA65, SpecMLKEM768} {
		k, err := GenerateKeyPair(spec, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !k.Wipe() {
			t.Fatalf("%s: not wiped whole", spec)
		}
		zero := false
		switch key := k.Key.(type) {
		case *rsa.PrivateKey:
			zero = allZero(key.D.Bits()) && allZero(key.Primes[0].Bits()) && allZero(key.Precomputed.Dp.Bits())
		case *ecdsa.PrivateKey:
			//lint:ignore SA1019 reading the scalar to see it zeroed
			zero = allZero(key.D.Bits())
		case *secp256k1.PrivateKey:
			zero = key.Key.IsZero()
		case ed25519.PrivateKey:
			zero = !bytes.ContainsFunc(key, func(r rune) bool { return r != 0 })
		case []byte:
			zero = !bytes.ContainsFunc(key, func(r rune) bool { return r != 0 })
		}
		if !zero {
			t.Errorf("%s: secret still readable after Wipe", spec)
		}
	}
}
