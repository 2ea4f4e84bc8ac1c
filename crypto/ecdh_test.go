package crypto

import (
	"bytes"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"
	"testing"
)

// TestDeriveSharedSecretWycheproof runs every ECDH vector (DER SPKI peer
// keys, including invalid-curve attacks, wrong curves, explicit and
// modified parameters) through DeriveSharedSecret and checks its verdict:
// valid ones give exactly the shared secret, invalid ones are refused with
// one of the distinct errors, acceptable ones either way but never with a
// wrong secret.
func TestDeriveSharedSecretWycheproof(t *testing.T) {
	for _, f := range []struct {
		file  string
		curve elliptic.Curve
	}{
		{"ecdh_secp256r1_test.json", elliptic.P256()},
		{"ecdh_secp384r1_test.json", elliptic.P384()},
		{"ecdh_secp521r1_test.json", elliptic.P521()},
	} {
		t.Run(f.file, func(t *testing.T) {
			counts := map[string]int{}
			for _, g := range loadWycheproof(t, f.file) {
				if g.Encoding != "asn" {
					t.Fatalf("group encoding %q", g.Encoding)
				}
				for _, tc := range g.Tests {
					priv := wycheproofECKey(t, f.curve, tc.Private)
					got, err := DeriveSharedSecret(priv, unhex(t, tc.Public))
					switch {
					case err == nil && !bytes.Equal(got, unhex(t, tc.Shared)):
						t.Errorf("tc %d (%s %v): wrong shared secret", tc.TcID, tc.Result, tc.Flags)
					case err == nil && tc.Result == "invalid":
						t.Errorf("tc %d (%s, %v): accepted an invalid peer key", tc.TcID, tc.Comment, tc.Flags)
					case err != nil && tc.Result == "valid":
						t.Errorf("tc %d (%s, %v): refused a valid peer key: %v", tc.TcID, tc.Comment, tc.Flags, err)
					case err != nil && !isPeerKeyError(err):
						t.Errorf("tc %d: error %v is none of the peer key errors", tc.TcID, err)
					}
					counts[fmt.Sprintf("%s/%v", tc.Result, err == nil)]++
					if err == nil && tc.Result == "acceptable" {
						t.Logf("accepted acceptable tc %d %v %s", tc.TcID, tc.Flags, tc.Comment)
					}
				}
			}
			t.Logf("verdict/accepted: %v", counts)
		})
	}
}

func isPeerKeyError(err error) bool {
	return errors.Is(err, ErrMalformedKey) || errors.Is(err, ErrWrongCurve) || errors.Is(err, ErrInvalidPoint)
}

// wycheproofECKey builds the private key from Wycheproof's big-endian hex
// scalar, which may be shorter than the curve's size or carry a leading 00.
func wycheproofECKey(t *testing.T, c elliptic.Curve, h string) *ecdsa.PrivateKey {
	t.Helper()
	d := new(big.Int).SetBytes(unhex(t, h))
	k, err := ecdsa.ParseRawPrivateKey(c, d.FillBytes(make([]byte, (c.Params().BitSize+7)/8)))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestDeriveSharedSecretAgreesWithGo: the secret keyraft derives equals the
// one crypto/ecdh derives on the peer's side from the KMS key's public key.
func TestDeriveSharedSecretAgreesWithGo(t *testing.T) {
	for _, spec := range []KeySpec{SpecECCNISTP256, SpecECCNISTP384, SpecECCNISTP521} {
		kms, err := GenerateKeyPair(spec, nil)
		if err != nil {
			t.Fatal(err)
		}
		kmsPub, err := kms.PublicKeyDER()
		if err != nil {
			t.Fatal(err)
		}
		curve := map[KeySpec]ecdh.Curve{SpecECCNISTP256: ecdh.P256(), SpecECCNISTP384: ecdh.P384(), SpecECCNISTP521: ecdh.P521()}[spec]
		peer, err := curve.GenerateKey(nil)
		if err != nil {
			t.Fatal(err)
		}
		peerDER, err := x509.MarshalPKIXPublicKey(peer.PublicKey())
		if err != nil {
			t.Fatal(err)
		}
		ours, err := DeriveSharedSecret(kms.Key.(*ecdsa.PrivateKey), peerDER)
		if err != nil {
			t.Fatal(err)
		}
		parsed, err := x509.ParsePKIXPublicKey(kmsPub)
		if err != nil {
			t.Fatal(err)
		}
		other, err := parsed.(*ecdsa.PublicKey).ECDH()
		if err != nil {
			t.Fatal(err)
		}
		theirs, err := peer.ECDH(other)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(ours, theirs) || len(ours) != (nistCurve(spec).Params().BitSize+7)/8 {
			t.Errorf("%s: keyraft %x, Go %x", spec, ours, theirs)
		}
	}
}

// TestDeriveSharedSecretRefusals: each kind of bad peer key gets its own error.
func TestDeriveSharedSecretRefusals(t *testing.T) {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), nil)
	if err != nil {
		t.Fatal(err)
	}
	good, err := x509.MarshalPKIXPublicKey(&priv.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	point, err := priv.PublicKey.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	p256Params, _ := asn1.Marshal(oidP256)
	spki := func(pt []byte) []byte {
		b, err := marshalSPKI(oidECPublicKey, p256Params, pt)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	offCurve := bytes.Clone(point)
	offCurve[len(offCurve)-1] ^= 1
	infinity := []byte{0}
	compressed := append([]byte{2 | point[64]&1}, point[1:33]...)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), nil)
	p384DER, _ := x509.MarshalPKIXPublicKey(&p384.PublicKey)
	k1, _ := GenerateDataKeyPairPublic(t, SpecECCSECGP256K1)
	rsaDER, _ := GenerateDataKeyPairPublic(t, SpecRSA2048)
	for _, c := range []struct {
		name string
		der  []byte
		want error
	}{
		{"off curve", spki(offCurve), ErrInvalidPoint},
		{"infinity", spki(infinity), ErrInvalidPoint},
		{"compressed", spki(compressed), ErrInvalidPoint},
		{"empty point", spki(nil), ErrInvalidPoint},
		{"P-384 key", p384DER, ErrWrongCurve},
		{"secp256k1 key", k1, ErrWrongCurve},
		{"RSA key", rsaDER, ErrWrongCurve},
		{"trailing byte", append(bytes.Clone(good), 0), ErrMalformedKey},
		{"truncated", good[:len(good)-1], ErrMalformedKey},
		{"not DER", []byte("hello"), ErrMalformedKey},
		{"empty", nil, ErrMalformedKey},
		{"bare point", point, ErrMalformedKey},
	} {
		_, err := DeriveSharedSecret(priv, c.der)
		if !errors.Is(err, c.want) {
			t.Errorf("%s: error %v, want %v", c.name, err, c.want)
		}
	}
	if _, err := DeriveSharedSecret(priv, good); err != nil {
		t.Errorf("own public key refused: %v", err)
	}
	if _, err := DeriveSharedSecret(nil, good); !errors.Is(err, ErrUnsupportedKeySpec) {
		t.Errorf("nil private key: %v", err)
	}
}

// GenerateDataKeyPairPublic returns a fresh public key of spec as DER SPKI.
func GenerateDataKeyPairPublic(t *testing.T, spec KeySpec) ([]byte, *PrivateKey) {
	t.Helper()
	k, err := GenerateKeyPair(spec, nil)
	if err != nil {
		t.Fatal(err)
	}
	der, err := k.PublicKeyDER()
	if err != nil {
		t.Fatal(err)
	}
	return der, k
}
