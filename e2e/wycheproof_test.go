package e2e

import (
	"bytes"
	"context"
	"crypto/ecdh"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
)

// wycheproofDir holds the Wycheproof vectors (C2SP/wycheproof
// testvectors_v1), read in place: shared/ sits beside every checkout, in CI
// too (its README), so from this package it is two levels up. A missing
// directory fails the tests that read it; nothing is copied into the repo.
const wycheproofDir = "../../shared/testdata/wycheproof"

// wpWorkers bounds the keys imported and exercised at once: enough to keep
// a 2-core machine busy, few enough not to starve the other tests' nodes.
const wpWorkers = 4

// hexBytes is a Wycheproof hex string.
type hexBytes []byte

func (h *hexBytes) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	v, err := hex.DecodeString(s)
	*h = v
	return err
}

type wpFile[G any] struct {
	Algorithm     string `json:"algorithm"`
	NumberOfTests int    `json:"numberOfTests"`
	TestGroups    []G    `json:"testGroups"`
}

type wpCase struct {
	TcID    int      `json:"tcId"`
	Comment string   `json:"comment"`
	Flags   []string `json:"flags"`
	Result  string   `json:"result"` // valid, invalid or acceptable
}

func (c wpCase) name() string { return fmt.Sprintf("tc%d", c.TcID) }

func (c wpCase) String() string {
	return fmt.Sprintf("tcId %d (%s; %s) %s", c.TcID, c.Comment, strings.Join(c.Flags, ","), c.Result)
}

type ecdhGroup struct {
	Curve    string       `json:"curve"`
	Encoding string       `json:"encoding"`
	Tests    []ecdhVector `json:"tests"`
}

type ecdhVector struct {
	wpCase
	Public  hexBytes `json:"public"`
	Private hexBytes `json:"private"`
	Shared  hexBytes `json:"shared"`
}

type oaepGroup struct {
	KeySize         int          `json:"keySize"`
	SHA             string       `json:"sha"`
	MGF             string       `json:"mgf"`
	MGFSha          string       `json:"mgfSha"`
	PrivateKeyPkcs8 hexBytes     `json:"privateKeyPkcs8"`
	Tests           []oaepVector `json:"tests"`
}

type oaepVector struct {
	wpCase
	Msg   hexBytes `json:"msg"`
	CT    hexBytes `json:"ct"`
	Label hexBytes `json:"label"`
}

type macGroup struct {
	KeySize int         `json:"keySize"`
	TagSize int         `json:"tagSize"`
	Tests   []macVector `json:"tests"`
}

type macVector struct {
	wpCase
	Key hexBytes `json:"key"`
	Msg hexBytes `json:"msg"`
	Tag hexBytes `json:"tag"`
}

// readWycheproof decodes one vector file and checks it holds what its
// header counts, so a truncated file cannot pass as a short one.
func readWycheproof[G any](t *testing.T, name string, count func(G) int) wpFile[G] {
	t.Helper()
	path := filepath.Join(wycheproofDir, name)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("Wycheproof vectors: %v (shared/ must sit beside the checkout; see %s/README.md)", err, wycheproofDir)
	}
	var f wpFile[G]
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	n := 0
	for _, g := range f.TestGroups {
		n += count(g)
	}
	if n == 0 || n != f.NumberOfTests {
		t.Fatalf("%s: %d tests, header says %d", path, n, f.NumberOfTests)
	}
	return f
}

// tally counts vectors by outcome for the report a run logs.
type tally struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *tally) add(what string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == nil {
		c.n = map[string]int{}
	}
	c.n[what]++
}

func (c *tally) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	keys := make([]string, 0, len(c.n))
	for k := range c.n {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "\n  %-60s %d", k, c.n[k])
	}
	return b.String()
}

// eachBounded runs fn for 0..n-1 on at most wpWorkers goroutines.
func eachBounded(n int, fn func(i int)) {
	var wg sync.WaitGroup
	sem := make(chan struct{}, wpWorkers)
	for i := 0; i < n; i++ {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			fn(i)
		}()
	}
	wg.Wait()
}

// wpImport makes an EXTERNAL key of spec and usage and imports material
// as a BYOK client does: GetParametersForImport, wrap with the returned
// RSA public key, ImportKeyMaterial (no expiry). Material up to what
// RSAES_OAEP_SHA_256 takes under RSA_2048 (HMAC keys, P-256 and P-384
// private keys) is wrapped directly; RSA private keys, which AWS wraps only
// with RSA_AES_KEY_WRAP, and P-521 keys, too long for RSA_2048 OAEP, are
// wrapped with RSA_AES_KEY_WRAP_SHA_256, the AES key wrap done by openssl.
// It returns the key id and ImportKeyMaterial's error, or an error of a
// step before it in setupErr.
func wpImport(ctx context.Context, c *kms.Client, spec types.KeySpec, usage types.KeyUsageType, material []byte) (id string, err, setupErr error) {
	ck, err := c.CreateKey(ctx, &kms.CreateKeyInput{KeySpec: spec, KeyUsage: usage, Origin: types.OriginTypeExternal})
	if err != nil {
		return "", nil, fmt.Errorf("CreateKey %s EXTERNAL: %w", spec, err)
	}
	id = *ck.KeyMetadata.KeyId
	if ck.KeyMetadata.KeyState != types.KeyStatePendingImport {
		return "", nil, fmt.Errorf("EXTERNAL key %s is %s, not PendingImport", spec, ck.KeyMetadata.KeyState)
	}
	alg := types.AlgorithmSpecRsaesOaepSha256
	if strings.HasPrefix(string(spec), "RSA_") || len(material) > 2048/8-2*sha256.Size-2 {
		alg = types.AlgorithmSpecRsaAesKeyWrapSha256
	}
	p, err := c.GetParametersForImport(ctx, &kms.GetParametersForImportInput{KeyId: aws.String(id), WrappingAlgorithm: alg, WrappingKeySpec: types.WrappingKeySpecRsa2048})
	if err != nil {
		return "", nil, fmt.Errorf("GetParametersForImport %s %s: %w", spec, alg, err)
	}
	wrapped, err := wrapForImport(p.PublicKey, alg, material)
	if err != nil {
		return "", nil, err
	}
	_, err = c.ImportKeyMaterial(ctx, &kms.ImportKeyMaterialInput{
		KeyId: aws.String(id), ImportToken: p.ImportToken, EncryptedKeyMaterial: wrapped,
		ExpirationModel: types.ExpirationModelTypeKeyMaterialDoesNotExpire,
	})
	return id, err, nil
}

// wpImportOK is wpImport for material that must import.
func wpImportOK(ctx context.Context, c *kms.Client, spec types.KeySpec, usage types.KeyUsageType, material []byte) (string, error) {
	id, err, setupErr := wpImport(ctx, c, spec, usage, material)
	if setupErr != nil {
		return "", setupErr
	}
	if err != nil {
		return "", fmt.Errorf("ImportKeyMaterial %s: %w", spec, err)
	}
	return id, nil
}

// wrapForImport encrypts material under the wrapping public key (DER SPKI)
// with alg, as AWS's import documentation has clients do: RSAES_OAEP_*
// directly with Go's rsa.EncryptOAEP; RSA_AES_KEY_WRAP_* as an
// OAEP-wrapped fresh AES-256 key followed by the material under it with
// AES Key Wrap with Padding (RFC 5649, openssl's id-aes256-wrap-pad: Go's
// standard library has none).
func wrapForImport(spki []byte, alg types.AlgorithmSpec, material []byte) ([]byte, error) {
	pub, err := x509.ParsePKIXPublicKey(spki)
	if err != nil {
		return nil, fmt.Errorf("wrapping public key: %w", err)
	}
	rpub, ok := pub.(*rsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("wrapping public key is %T", pub)
	}
	var h hash.Hash = sha256.New()
	if alg == types.AlgorithmSpecRsaesOaepSha1 || alg == types.AlgorithmSpecRsaAesKeyWrapSha1 {
		h = sha1.New()
	}
	if alg == types.AlgorithmSpecRsaesOaepSha1 || alg == types.AlgorithmSpecRsaesOaepSha256 {
		return rsa.EncryptOAEP(h, rand.Reader, rpub, material, nil)
	}
	aesKey := make([]byte, 32)
	if _, err := rand.Read(aesKey); err != nil {
		return nil, err
	}
	head, err := rsa.EncryptOAEP(h, rand.Reader, rpub, aesKey, nil)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command("openssl", "enc", "-id-aes256-wrap-pad", "-K", hex.EncodeToString(aesKey), "-iv", "A65959A6")
	cmd.Stdin = bytes.NewReader(material)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	tail, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("openssl id-aes256-wrap-pad: %v: %s", err, stderr.Bytes())
	}
	if len(tail) < len(material) {
		return nil, fmt.Errorf("openssl id-aes256-wrap-pad: %d bytes out for %d in", len(tail), len(material))
	}
	return append(head, tail...), nil
}

// wantRefusal checks err is AWS's error code, answered with a 4xx: a
// vector's refusal is the client's fault, never the server's.
func wantRefusal(err error, code string) error {
	if err == nil {
		return fmt.Errorf("accepted, want %s", code)
	}
	var re interface{ HTTPStatusCode() int }
	if !errors.As(err, &re) || re.HTTPStatusCode() < 400 || re.HTTPStatusCode() >= 500 {
		return fmt.Errorf("refused with %v, want a 4xx %s", err, code)
	}
	if got := apiCode(err); got != code {
		return fmt.Errorf("refused with %s (%v), want %s", got, err, code)
	}
	return nil
}

// TestWycheproofThroughTheAPI: Wycheproof's ECDH, RSA-OAEP and HMAC vectors,
// each verdict checked through the API of one dev server on material
// imported as a BYOK client imports it. Every distinct private key or MAC
// key is imported once; the vectors of a key run as its subtests (named by
// tcId), keys on a few goroutines at once. What keyraft cannot express as
// AWS defines the API (an OAEP label, an HMAC key of a size AWS refuses, a
// MAC over an empty message) is counted, checked to be refused where the
// API is asked, and logged; nothing is skipped in silence.
func TestWycheproofThroughTheAPI(t *testing.T) {
	if _, err := os.Stat(wycheproofDir); err != nil {
		t.Fatalf("Wycheproof vectors: %v (shared/ must sit beside the checkout)", err)
	}
	api, _, _ := devNode(t)
	c := kmsClient(api, credsFor(api), 1) // no retry: a 500 must show

	t.Run("ECDH", func(t *testing.T) { wycheproofECDH(t, c) })
	t.Run("RSA-OAEP", func(t *testing.T) { wycheproofOAEP(t, c) })
	t.Run("HMAC", func(t *testing.T) { wycheproofHMAC(t, c) })
}

var ecdhCurves = []struct {
	file  string
	curve ecdh.Curve
	size  int // bytes of a scalar
	spec  types.KeySpec
}{
	{"ecdh_secp256r1_test.json", ecdh.P256(), 32, types.KeySpecEccNistP256},
	{"ecdh_secp384r1_test.json", ecdh.P384(), 48, types.KeySpecEccNistP384},
	{"ecdh_secp521r1_test.json", ecdh.P521(), 66, types.KeySpecEccNistP521},
}

// wycheproofECDH: "valid" vectors give exactly the shared secret; "invalid"
// peer keys are refused with ValidationException; "acceptable" ones
// (compressed points, explicit curve parameters, lax DER) either give the
// right secret or are refused the same way, and the refusals are counted
// by flag: AWS takes a DER SubjectPublicKeyInfo of an uncompressed point.
func wycheproofECDH(t *testing.T, c *kms.Client) {
	for _, cv := range ecdhCurves {
		t.Run(strings.TrimSuffix(cv.file, "_test.json"), func(t *testing.T) {
			f := readWycheproof(t, cv.file, func(g ecdhGroup) int { return len(g.Tests) })
			var tl tally
			// Vectors by private key, in file order, to import each key once.
			var order []string
			byKey := map[string][]ecdhVector{}
			for _, g := range f.TestGroups {
				if g.Encoding != "asn" {
					t.Fatalf("group encoding %q: this reader knows DER SPKI only", g.Encoding)
				}
				for _, v := range g.Tests {
					k := hex.EncodeToString(v.Private)
					if _, ok := byKey[k]; !ok {
						order = append(order, k)
					}
					byKey[k] = append(byKey[k], v)
				}
			}
			eachBounded(len(order), func(i int) {
				vs := byKey[order[i]]
				priv, err := cv.curve.NewPrivateKey(scalarBytes(vs[0].Private, cv.size))
				if err != nil {
					// The scalar is out of range for the curve: no
					// PKCS#8 key to import, so no vector to run. A
					// valid vector never has one.
					for _, v := range vs {
						if v.Result == "valid" {
							t.Errorf("%s: private key: %v", v.wpCase, err)
						}
						tl.add(v.Result + ": private scalar not a key of the curve: not run")
					}
					return
				}
				der, err := x509.MarshalPKCS8PrivateKey(priv)
				if err != nil {
					t.Errorf("PKCS#8 of the private key of %s: %v", vs[0].wpCase, err)
					return
				}
				id, err := wpImportOK(ctxTimeout(t, 30*time.Second), c, cv.spec, types.KeyUsageTypeKeyAgreement, der)
				if err != nil {
					t.Errorf("import of the private key of %s: %v", vs[0].wpCase, err)
					return
				}
				for _, v := range vs {
					t.Run(v.name(), func(t *testing.T) {
						out, err := c.DeriveSharedSecret(ctx10(t), &kms.DeriveSharedSecretInput{
							KeyId: aws.String(id), KeyAgreementAlgorithm: types.KeyAgreementAlgorithmSpecEcdh, PublicKey: v.Public,
						})
						switch {
						case err == nil && !bytes.Equal(out.SharedSecret, v.Shared):
							t.Errorf("%s: shared secret %x, want %x", v.wpCase, out.SharedSecret, v.Shared)
						case err == nil && v.Result == "invalid":
							t.Errorf("%s: an invalid peer key was accepted", v.wpCase)
						case err == nil:
							tl.add(v.Result + ": secret derived")
						case v.Result == "valid":
							t.Errorf("%s: %v", v.wpCase, err)
						default:
							if e := wantRefusal(err, "ValidationException"); e != nil {
								t.Errorf("%s: %v", v.wpCase, e)
							}
							tl.add(v.Result + ": refused [" + strings.Join(v.Flags, ",") + "]")
						}
					})
				}
			})
			t.Logf("%d vectors over %d private keys:%s", f.NumberOfTests, len(order), &tl)
		})
	}
}

// scalarBytes is a Wycheproof private scalar (big-endian, maybe with a
// sign byte) as the fixed-size encoding crypto/ecdh takes; one that does
// not fit is returned as is, for NewPrivateKey to refuse.
func scalarBytes(b []byte, size int) []byte {
	b = bytes.TrimLeft(b, "\x00")
	if len(b) > size {
		return b
	}
	return append(make([]byte, size-len(b)), b...)
}

var oaepFiles = []struct {
	file string
	alg  types.EncryptionAlgorithmSpec
	sha  string
}{
	{"rsa_oaep_2048_sha1_mgf1sha1_test.json", types.EncryptionAlgorithmSpecRsaesOaepSha1, "SHA-1"},
	{"rsa_oaep_2048_sha256_mgf1sha256_test.json", types.EncryptionAlgorithmSpecRsaesOaepSha256, "SHA-256"},
}

// wycheproofOAEP: Decrypt with the vector file's imported RSA key and the
// matching algorithm. AWS's OAEP has no label, so only vectors with an
// empty one are asked: "valid" gives the message, "invalid" is refused with
// InvalidCiphertextException (an empty ciphertext, with AWS's
// ValidationException for a too-short member).
func wycheproofOAEP(t *testing.T, c *kms.Client) {
	for _, of := range oaepFiles {
		t.Run(strings.TrimSuffix(of.file, "_test.json"), func(t *testing.T) {
			f := readWycheproof(t, of.file, func(g oaepGroup) int { return len(g.Tests) })
			var tl tally
			for _, g := range f.TestGroups {
				if g.SHA != of.sha || g.MGF != "MGF1" || g.MGFSha != of.sha {
					t.Fatalf("group %s/%s%s in %s: not %s", g.SHA, g.MGF, g.MGFSha, of.file, of.alg)
				}
				spec := types.KeySpec(fmt.Sprintf("RSA_%d", g.KeySize))
				id, err := wpImportOK(ctxTimeout(t, 30*time.Second), c, spec, types.KeyUsageTypeEncryptDecrypt, g.PrivateKeyPkcs8)
				if err != nil {
					t.Fatalf("import of the %s key: %v", spec, err)
				}
				eachBounded(len(g.Tests), func(i int) {
					v := g.Tests[i]
					if len(v.Label) > 0 {
						tl.add(v.Result + ": has a label, which AWS's OAEP lacks: not asked")
						return
					}
					t.Run(v.name(), func(t *testing.T) {
						out, err := c.Decrypt(ctx10(t), &kms.DecryptInput{KeyId: aws.String(id), CiphertextBlob: v.CT, EncryptionAlgorithm: of.alg})
						switch {
						case len(v.CT) == 0:
							// AWS's CiphertextBlob is 1 to 6144 bytes: its
							// length is checked before the key is used.
							if e := wantRefusal(err, "ValidationException"); e != nil {
								t.Errorf("%s: %v", v.wpCase, e)
							}
							tl.add(v.Result + ": empty ciphertext, refused as AWS refuses it")
						case v.Result == "valid" && err != nil:
							t.Errorf("%s: %v", v.wpCase, err)
						case v.Result == "valid" && !bytes.Equal(out.Plaintext, v.Msg):
							t.Errorf("%s: plaintext %x, want %x", v.wpCase, out.Plaintext, v.Msg)
						case v.Result == "valid":
							tl.add("valid: decrypted")
						default:
							if e := wantRefusal(err, "InvalidCiphertextException"); e != nil {
								t.Errorf("%s: %v", v.wpCase, e)
							}
							tl.add(v.Result + ": refused")
						}
					})
				})
			}
			t.Logf("%d vectors:%s", f.NumberOfTests, &tl)
		})
	}
}

var hmacFiles = []struct {
	file     string
	spec     types.KeySpec
	alg      types.MacAlgorithmSpec
	tagBits  int
	min, max int // AWS's sizes in bytes of imported HMAC key material: the spec's length to 1024 bits
}{
	{"hmac_sha224_test.json", types.KeySpecHmac224, types.MacAlgorithmSpecHmacSha224, 224, 28, 128},
	{"hmac_sha256_test.json", types.KeySpecHmac256, types.MacAlgorithmSpecHmacSha256, 256, 32, 128},
	{"hmac_sha384_test.json", types.KeySpecHmac384, types.MacAlgorithmSpecHmacSha384, 384, 48, 128},
	{"hmac_sha512_test.json", types.KeySpecHmac512, types.MacAlgorithmSpecHmacSha512, 512, 64, 128},
}

// wycheproofHMAC: each key material imported into an HMAC key of the
// file's spec; VerifyMac of each vector's tag answers MacValid for "valid"
// and KMSInvalidMacException for "invalid", and GenerateMac of a valid
// vector's message gives its tag. AWS's MACs are never truncated, so the
// groups with half-size tags are counted, not asked; key material of a size
// AWS refuses must be refused by ImportKeyMaterial; a MAC over an empty
// message (AWS's Message is 1 to 4096 bytes) must be refused by VerifyMac.
func wycheproofHMAC(t *testing.T, c *kms.Client) {
	for _, hf := range hmacFiles {
		t.Run(strings.TrimSuffix(hf.file, "_test.json"), func(t *testing.T) {
			f := readWycheproof(t, hf.file, func(g macGroup) int { return len(g.Tests) })
			var tl tally
			var order []string
			byKey := map[string][]macVector{}
			for _, g := range f.TestGroups {
				for _, v := range g.Tests {
					if g.TagSize != hf.tagBits {
						tl.add(fmt.Sprintf("%s: tag truncated to %d bits, which AWS never makes: not asked", v.Result, g.TagSize))
						continue
					}
					k := hex.EncodeToString(v.Key)
					if _, ok := byKey[k]; !ok {
						order = append(order, k)
					}
					byKey[k] = append(byKey[k], v)
				}
			}
			eachBounded(len(order), func(i int) {
				vs := byKey[order[i]]
				key := []byte(vs[0].Key)
				id, err, setupErr := wpImport(ctxTimeout(t, 30*time.Second), c, hf.spec, types.KeyUsageTypeGenerateVerifyMac, key)
				if setupErr != nil {
					t.Errorf("import of the key of %s: %v", vs[0].wpCase, setupErr)
					return
				}
				if len(key) < hf.min || len(key) > hf.max {
					if e := wantRefusal(err, apiCode(err)); e != nil || err == nil {
						t.Errorf("%s: %d-byte key material into %s, where AWS takes %d to %d bytes: %v", vs[0].wpCase, len(key), hf.spec, hf.min, hf.max, e)
					}
					for _, v := range vs {
						tl.add(fmt.Sprintf("%s: %d-byte key, refused by ImportKeyMaterial (%s): not asked", v.Result, len(key), apiCode(err)))
					}
					return
				}
				if err != nil {
					t.Errorf("import of the key of %s: %v", vs[0].wpCase, err)
					return
				}
				for _, v := range vs {
					t.Run(v.name(), func(t *testing.T) {
						out, err := c.VerifyMac(ctx10(t), &kms.VerifyMacInput{KeyId: aws.String(id), MacAlgorithm: hf.alg, Message: v.Msg, Mac: v.Tag})
						switch {
						case len(v.Msg) == 0:
							if e := wantRefusal(err, "ValidationException"); e != nil {
								t.Errorf("%s: VerifyMac of an empty message: %v", v.wpCase, e)
							}
							tl.add(v.Result + ": empty message, refused as AWS refuses it")
						case v.Result == "valid" && (err != nil || !out.MacValid):
							t.Errorf("%s: VerifyMac: %v", v.wpCase, err)
						case v.Result == "valid":
							gm, err := c.GenerateMac(ctx10(t), &kms.GenerateMacInput{KeyId: aws.String(id), MacAlgorithm: hf.alg, Message: v.Msg})
							if err != nil || !bytes.Equal(gm.Mac, v.Tag) {
								t.Errorf("%s: GenerateMac: %v", v.wpCase, err)
							}
							tl.add("valid: MacValid, and GenerateMac gives the tag")
						default:
							if e := wantRefusal(err, "KMSInvalidMacException"); e != nil {
								t.Errorf("%s: %v", v.wpCase, e)
							}
							tl.add(v.Result + ": KMSInvalidMacException")
						}
					})
				}
			})
			t.Logf("%d vectors over %d full-tag keys:%s", f.NumberOfTests, len(order), &tl)
		})
	}
}
