package crypto

import (
	"bytes"
	"crypto/rsa"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestOAEPMaxPlaintext: AWS's published limits, and that they are exact:
// the limit encrypts and decrypts, one byte more is refused.
func TestOAEPMaxPlaintext(t *testing.T) {
	want := map[KeySpec][2]int{SpecRSA2048: {214, 190}, SpecRSA3072: {342, 318}, SpecRSA4096: {470, 446}}
	for spec, limits := range want {
		k := rsaKey(t, spec)
		for i, alg := range []EncryptionAlgorithm{RSAESOAEPSHA1, RSAESOAEPSHA256} {
			n, err := OAEPMaxPlaintext(spec, alg)
			if err != nil || n != limits[i] {
				t.Fatalf("%s %s: %d, %v; want %d", spec, alg, n, err, limits[i])
			}
			pt := bytes.Repeat([]byte{0xA5}, n)
			ct, err := RSAEncryptOAEP(&k.PublicKey, alg, pt, nil)
			if err != nil {
				t.Fatalf("%s %s: %d bytes: %v", spec, alg, n, err)
			}
			if len(ct) != k.Size() {
				t.Errorf("%s: ciphertext %d bytes, want the modulus' %d", spec, len(ct), k.Size())
			}
			back, err := RSADecryptOAEP(k, alg, ct)
			if err != nil || !bytes.Equal(back, pt) {
				t.Errorf("%s %s: round trip: %v", spec, alg, err)
			}
			if _, err := RSAEncryptOAEP(&k.PublicKey, alg, append(pt, 0), nil); !errors.Is(err, ErrPlaintextTooLong) {
				t.Errorf("%s %s: %d bytes: %v, want ErrPlaintextTooLong", spec, alg, n+1, err)
			}
			// The other hash must not open it: the algorithm is bound.
			other := RSAESOAEPSHA1
			if alg == other {
				other = RSAESOAEPSHA256
			}
			if _, err := RSADecryptOAEP(k, other, ct); !errors.Is(err, ErrInvalidCiphertext) {
				t.Errorf("%s: %s ciphertext opened as %s: %v", spec, alg, other, err)
			}
		}
	}
	if _, err := OAEPMaxPlaintext(SpecECCNISTP256, RSAESOAEPSHA1); !errors.Is(err, ErrUnsupportedKeySpec) {
		t.Errorf("EC spec: %v", err)
	}
	if _, err := OAEPMaxPlaintext(SpecRSA2048, "SYMMETRIC_DEFAULT"); !errors.Is(err, ErrUnsupportedAlgorithm) {
		t.Errorf("symmetric algorithm: %v", err)
	}
}

// TestRSADecryptOAEPRefusals: wrong lengths and tampering are all the one
// ErrInvalidCiphertext; a 1024-bit key is no AWS key.
func TestRSADecryptOAEPRefusals(t *testing.T) {
	k := rsaKey(t, SpecRSA2048)
	ct, err := RSAEncryptOAEP(&k.PublicKey, RSAESOAEPSHA256, []byte("secret"), nil)
	if err != nil {
		t.Fatal(err)
	}
	flipped := bytes.Clone(ct)
	flipped[10] ^= 0x80
	for name, c := range map[string][]byte{
		"empty": nil, "short": ct[1:], "long": append(bytes.Clone(ct), 0), "flipped": flipped,
		"modulus-sized 0xff": bytes.Repeat([]byte{0xff}, len(ct)),
	} {
		if _, err := RSADecryptOAEP(k, RSAESOAEPSHA256, c); err != ErrInvalidCiphertext {
			t.Errorf("%s: %v, want ErrInvalidCiphertext itself", name, err)
		}
	}
	small, err := rsa.GenerateKey(nil, 1024)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := RSAEncryptOAEP(&small.PublicKey, RSAESOAEPSHA1, []byte("x"), nil); !errors.Is(err, ErrUnsupportedKeySpec) {
		t.Errorf("RSA-1024: %v", err)
	}
}

// TestRSADecryptOAEPWycheproof checks each Wycheproof RSA-OAEP vector's
// verdict through RSADecryptOAEP with the vectors' RSA_2048 key (imported
// from its PKCS#8 through ParsePrivateKey). AWS's OAEP has an empty label,
// so a vector encrypted with a label must be refused whatever its verdict:
// the label is bound into the padding.
func TestRSADecryptOAEPWycheproof(t *testing.T) {
	for file, alg := range map[string]EncryptionAlgorithm{
		"rsa_oaep_2048_sha1_mgf1sha1_test.json":     RSAESOAEPSHA1,
		"rsa_oaep_2048_sha256_mgf1sha256_test.json": RSAESOAEPSHA256,
	} {
		checked, labelled := 0, 0
		for _, g := range loadWycheproof(t, file) {
			k, err := ParsePrivateKey(unhex(t, g.PrivateKeyPkcs8))
			if err != nil || k.Spec != SpecRSA2048 {
				t.Fatalf("%s: key: %v %v", file, k, err)
			}
			for _, tc := range g.Tests {
				checked++
				pt, err := RSADecryptOAEP(k.Key.(*rsa.PrivateKey), alg, unhex(t, tc.CT))
				switch {
				case tc.Label != "":
					labelled++
					if err != ErrInvalidCiphertext {
						t.Errorf("%s tc %d: ciphertext with a label opened without it: %v", file, tc.TcID, err)
					}
				case tc.Result == "valid":
					if err != nil || !bytes.Equal(pt, unhex(t, tc.Msg)) {
						t.Errorf("%s tc %d (%v): %v", file, tc.TcID, tc.Flags, err)
					}
				case tc.Result == "invalid":
					if err != ErrInvalidCiphertext {
						t.Errorf("%s tc %d (%v): accepted or wrong error %v", file, tc.TcID, tc.Flags, err)
					}
				default:
					t.Errorf("%s tc %d: verdict %q", file, tc.TcID, tc.Result)
				}
			}
		}
		if checked < 20 {
			t.Errorf("%s: only %d vectors checked", file, checked)
		}
		t.Logf("%s: %d vectors checked, %d of them with a label", file, checked, labelled)
	}
}

// TestRSAOAEPOpenSSL: what openssl pkeyutl encrypts under the public key
// (as GetPublicKey returns it) decrypts here, and what is encrypted here
// openssl decrypts, for both hashes and all sizes.
func TestRSAOAEPOpenSSL(t *testing.T) {
	openssl := needOpenSSL(t)
	for _, spec := range []KeySpec{SpecRSA2048, SpecRSA3072, SpecRSA4096} {
		priv, pub := keyFiles(t, spec)
		k := mustParsePrivate(t, priv)
		for _, c := range []struct {
			alg EncryptionAlgorithm
			md  string
		}{{RSAESOAEPSHA1, "sha1"}, {RSAESOAEPSHA256, "sha256"}} {
			max, _ := OAEPMaxPlaintext(spec, c.alg)
			msg := bytes.Repeat([]byte("keyraft "), max)[:max]
			in := filepath.Join(t.TempDir(), "msg")
			if err := os.WriteFile(in, msg, 0o600); err != nil {
				t.Fatal(err)
			}
			ct := run(t, openssl, "pkeyutl", "-encrypt", "-pubin", "-keyform", "DER", "-inkey", pub, "-in", in,
				"-pkeyopt", "rsa_padding_mode:oaep", "-pkeyopt", "rsa_oaep_md:"+c.md)
			pt, err := RSADecryptOAEP(k.Key.(*rsa.PrivateKey), c.alg, ct)
			if err != nil || !bytes.Equal(pt, msg) {
				t.Errorf("%s %s: openssl ciphertext: %v", spec, c.alg, err)
			}
			ours, err := RSAEncryptOAEP(&k.Key.(*rsa.PrivateKey).PublicKey, c.alg, msg, nil)
			if err != nil {
				t.Fatal(err)
			}
			ctFile := filepath.Join(t.TempDir(), "ct")
			if err := os.WriteFile(ctFile, ours, 0o600); err != nil {
				t.Fatal(err)
			}
			back := run(t, openssl, "pkeyutl", "-decrypt", "-keyform", "DER", "-inkey", priv, "-in", ctFile,
				"-pkeyopt", "rsa_padding_mode:oaep", "-pkeyopt", "rsa_oaep_md:"+c.md)
			if !bytes.Equal(back, msg) {
				t.Errorf("%s %s: openssl could not decrypt ours", spec, c.alg)
			}
		}
	}
}

// rsaKeys caches one key per size: RSA-4096 generation takes seconds.
var rsaKeys = map[KeySpec]*PrivateKey{}

func rsaKey(t *testing.T, spec KeySpec) *rsa.PrivateKey {
	t.Helper()
	if k, ok := rsaKeys[spec]; ok {
		return k.Key.(*rsa.PrivateKey)
	}
	k, err := GenerateKeyPair(spec, nil)
	if err != nil {
		t.Fatal(err)
	}
	rsaKeys[spec] = k
	return k.Key.(*rsa.PrivateKey)
}

// keyFiles writes spec's cached or fresh key as DER PKCS#8 and SPKI files.
func keyFiles(t *testing.T, spec KeySpec) (priv, pub string) {
	t.Helper()
	var k *PrivateKey
	if isRSA(spec) {
		rsaKey(t, spec)
		k = rsaKeys[spec]
	} else {
		var err error
		if k, err = GenerateKeyPair(spec, nil); err != nil {
			t.Fatal(err)
		}
	}
	privDER, err := MarshalPrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	pubDER, err := k.PublicKeyDER()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	priv, pub = filepath.Join(dir, "priv.der"), filepath.Join(dir, "pub.der")
	if err := os.WriteFile(priv, privDER, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(pub, pubDER, 0o600); err != nil {
		t.Fatal(err)
	}
	return priv, pub
}

func isRSA(spec KeySpec) bool {
	return spec == SpecRSA2048 || spec == SpecRSA3072 || spec == SpecRSA4096
}

func mustParsePrivate(t *testing.T, file string) *PrivateKey {
	t.Helper()
	der, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	k, err := ParsePrivateKey(der)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// needOpenSSL finds the openssl binary (Debian's openssl package); the
// interop tests fail without it rather than pass unexercised.
func needOpenSSL(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("openssl")
	if err != nil {
		t.Fatal("openssl is needed for the interop tests: apt-get install openssl")
	}
	return p
}

func run(t *testing.T, name string, args ...string) []byte {
	t.Helper()
	var stderr bytes.Buffer
	cmd := exec.Command(name, args...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, stderr.String())
	}
	return out
}
