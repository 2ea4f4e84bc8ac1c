package e2e

import (
	"bytes"
	stdcrypto "crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha512"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
)

// signingSpecs is every asymmetric signing key spec keyraft serves with its
// algorithms in AWS's order, as GetPublicKey must list them.
var signingSpecs = []struct {
	spec types.KeySpec
	algs []types.SigningAlgorithmSpec
}{
	{types.KeySpecRsa2048, rsaSigningAlgs},
	{types.KeySpecRsa3072, rsaSigningAlgs},
	{types.KeySpecRsa4096, rsaSigningAlgs},
	{types.KeySpecEccNistP256, []types.SigningAlgorithmSpec{"ECDSA_SHA_256"}},
	{types.KeySpecEccNistP384, []types.SigningAlgorithmSpec{"ECDSA_SHA_384"}},
	{types.KeySpecEccNistP521, []types.SigningAlgorithmSpec{"ECDSA_SHA_512"}},
	{types.KeySpecEccSecgP256k1, []types.SigningAlgorithmSpec{"ECDSA_SHA_256"}},
	{types.KeySpecEccNistEdwards25519, []types.SigningAlgorithmSpec{"ED25519_SHA_512", "ED25519_PH_SHA_512"}},
}

var rsaSigningAlgs = []types.SigningAlgorithmSpec{
	"RSASSA_PKCS1_V1_5_SHA_256", "RSASSA_PKCS1_V1_5_SHA_384", "RSASSA_PKCS1_V1_5_SHA_512",
	"RSASSA_PSS_SHA_256", "RSASSA_PSS_SHA_384", "RSASSA_PSS_SHA_512",
}

// hashOf is the hash an algorithm's name ends with.
func hashOf(alg types.SigningAlgorithmSpec) (stdcrypto.Hash, string) {
	switch {
	case strings.HasSuffix(string(alg), "_256"):
		return stdcrypto.SHA256, "sha256"
	case strings.HasSuffix(string(alg), "_384"):
		return stdcrypto.SHA384, "sha384"
	}
	return stdcrypto.SHA512, "sha512"
}

// messageTypes are the message types AWS allows with alg.
func messageTypes(alg types.SigningAlgorithmSpec) []types.MessageType {
	switch alg {
	case "ED25519_SHA_512":
		return []types.MessageType{types.MessageTypeRaw}
	case "ED25519_PH_SHA_512":
		return []types.MessageType{types.MessageTypeDigest}
	}
	return []types.MessageType{types.MessageTypeRaw, types.MessageTypeDigest}
}

// TestSignVerifyEverySpecInterop: through three nodes, requests spread over
// followers and the leader, every signing spec signs with each of its
// algorithms and message types; each signature verifies through Verify,
// with Go's x509-parsed GetPublicKey result, and with openssl.
func TestSignVerifyEverySpecInterop(t *testing.T) {
	c := startUnsealedCluster(t)
	s := newSpread(c)
	dir := t.TempDir()
	msg := []byte("keyraft signs this for cosign, step-ca and JWTs")
	for _, sp := range signingSpecs {
		ck, err := s.next().CreateKey(ctxTimeout(t, 30*time.Second), &kms.CreateKeyInput{KeySpec: sp.spec, KeyUsage: types.KeyUsageTypeSignVerify})
		if err != nil {
			t.Fatalf("CreateKey %s: %v", sp.spec, err)
		}
		id := ck.KeyMetadata.KeyId
		if !slices.Equal(ck.KeyMetadata.SigningAlgorithms, sp.algs) || ck.KeyMetadata.EncryptionAlgorithms != nil {
			t.Fatalf("%s metadata algorithms: %v / %v", sp.spec, ck.KeyMetadata.SigningAlgorithms, ck.KeyMetadata.EncryptionAlgorithms)
		}
		pk, err := s.next().GetPublicKey(ctx10(t), &kms.GetPublicKeyInput{KeyId: id})
		if err != nil {
			t.Fatal(err)
		}
		if pk.KeySpec != sp.spec || pk.KeyUsage != types.KeyUsageTypeSignVerify || !slices.Equal(pk.SigningAlgorithms, sp.algs) {
			t.Fatalf("%s GetPublicKey: %+v", sp.spec, pk)
		}
		pemFile := filepath.Join(dir, string(sp.spec)+".pem")
		writeFile(t, pemFile, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pk.PublicKey}))
		for _, alg := range sp.algs {
			h, hname := hashOf(alg)
			hh := h.New()
			hh.Write(msg)
			digest := hh.Sum(nil)
			for _, mt := range messageTypes(alg) {
				in := msg
				if mt == types.MessageTypeDigest {
					in = digest
				}
				out, err := s.next().Sign(ctx10(t), &kms.SignInput{KeyId: id, Message: in, MessageType: mt, SigningAlgorithm: alg})
				if err != nil {
					t.Fatalf("Sign %s %s %s: %v", sp.spec, alg, mt, err)
				}
				v, err := s.next().Verify(ctx10(t), &kms.VerifyInput{KeyId: id, Message: in, MessageType: mt, SigningAlgorithm: alg, Signature: out.Signature})
				if err != nil || !v.SignatureValid {
					t.Fatalf("Verify %s %s %s: %v", sp.spec, alg, mt, err)
				}
				if sp.spec != types.KeySpecEccSecgP256k1 { // Go's x509 has no secp256k1; openssl checks it below
					goVerify(t, pk.PublicKey, alg, h, msg, digest, out.Signature)
				}
				if alg == "ED25519_PH_SHA_512" {
					continue // OpenSSL 3.0 (Debian's) has no Ed25519ph; Go checked it above
				}
				what := string(sp.spec) + " " + string(alg) + " " + string(mt)
				if err := opensslVerify(dir, pemFile, alg, hname, in, mt, out.Signature); err != nil {
					t.Fatalf("openssl refuses %s: %v", what, err)
				}
				// The same check must fail on another message: openssl is really checking.
				other := bytes.Clone(in)
				other[0] ^= 1
				if opensslVerify(dir, pemFile, alg, hname, other, mt, out.Signature) == nil {
					t.Fatalf("openssl accepts %s over another message", what)
				}
				bad := bytes.Clone(out.Signature)
				bad[len(bad)-1] ^= 1
				_, err = s.next().Verify(ctx10(t), &kms.VerifyInput{KeyId: id, Message: in, MessageType: mt, SigningAlgorithm: alg, Signature: bad})
				wantCode(t, "Verify of an altered signature", err, "KMSInvalidSignatureException")
			}
		}
	}
}

// TestPublicKeysOfOtherUsages: RSA encryption keys (created with the
// deprecated CustomerMasterKeySpec, as older clients do) and ECDH keys give
// their public keys with the algorithm list of their usage, parsable by Go
// and openssl.
func TestPublicKeysOfOtherUsages(t *testing.T) {
	c := startUnsealedCluster(t)
	s := newSpread(c)
	dir := t.TempDir()
	for _, tc := range []struct {
		in    *kms.CreateKeyInput
		spec  types.KeySpec
		usage types.KeyUsageType
		check func(*kms.GetPublicKeyOutput) bool
	}{
		//lint:ignore SA1019 the deprecated member is what older clients send, and AWS still takes it
		{&kms.CreateKeyInput{CustomerMasterKeySpec: types.CustomerMasterKeySpecRsa3072, KeyUsage: types.KeyUsageTypeEncryptDecrypt}, types.KeySpecRsa3072, types.KeyUsageTypeEncryptDecrypt,
			func(o *kms.GetPublicKeyOutput) bool {
				return slices.Equal(o.EncryptionAlgorithms, []types.EncryptionAlgorithmSpec{"RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"}) && o.SigningAlgorithms == nil
			}},
		{&kms.CreateKeyInput{KeySpec: types.KeySpecEccNistP384, KeyUsage: types.KeyUsageTypeKeyAgreement}, types.KeySpecEccNistP384, types.KeyUsageTypeKeyAgreement,
			func(o *kms.GetPublicKeyOutput) bool {
				return slices.Equal(o.KeyAgreementAlgorithms, []types.KeyAgreementAlgorithmSpec{"ECDH"}) && o.SigningAlgorithms == nil && o.EncryptionAlgorithms == nil
			}},
	} {
		ck, err := s.next().CreateKey(ctxTimeout(t, 30*time.Second), tc.in)
		if err != nil {
			t.Fatal(err)
		}
		if ck.KeyMetadata.KeySpec != tc.spec || ck.KeyMetadata.KeyUsage != tc.usage {
			t.Fatalf("CreateKey %+v: %+v", tc.in, ck.KeyMetadata)
		}
		pk, err := s.next().GetPublicKey(ctx10(t), &kms.GetPublicKeyInput{KeyId: ck.KeyMetadata.KeyId})
		if err != nil || pk.KeySpec != tc.spec || pk.KeyUsage != tc.usage || !tc.check(pk) {
			t.Fatalf("GetPublicKey %s: %+v %v", tc.spec, pk, err)
		}
		if _, err := x509.ParsePKIXPublicKey(pk.PublicKey); err != nil {
			t.Fatalf("%s public key: %v", tc.spec, err)
		}
		pemFile := filepath.Join(dir, string(tc.spec)+".pem")
		writeFile(t, pemFile, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pk.PublicKey}))
		if out, err := exec.Command("openssl", "pkey", "-pubin", "-in", pemFile, "-noout").CombinedOutput(); err != nil {
			t.Fatalf("openssl refuses the %s public key: %v %s", tc.spec, err, out)
		}
		_, err = s.next().Sign(ctx10(t), &kms.SignInput{KeyId: ck.KeyMetadata.KeyId, Message: []byte("m"), SigningAlgorithm: "ECDSA_SHA_384"})
		wantCode(t, "Sign with a key not for signing", err, "InvalidKeyUsageException")
	}
}

func writeFile(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// goVerify checks a signature with the standard library alone.
func goVerify(t *testing.T, spki []byte, alg types.SigningAlgorithmSpec, h stdcrypto.Hash, msg, digest, sig []byte) {
	t.Helper()
	pub, err := x509.ParsePKIXPublicKey(spki)
	if err != nil {
		t.Fatalf("GetPublicKey's DER does not parse with crypto/x509: %v", err)
	}
	ok := false
	switch p := pub.(type) {
	case *rsa.PublicKey:
		if strings.HasPrefix(string(alg), "RSASSA_PSS") {
			ok = rsa.VerifyPSS(p, h, digest, sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthAuto}) == nil
		} else {
			ok = rsa.VerifyPKCS1v15(p, h, digest, sig) == nil
		}
	case *ecdsa.PublicKey:
		ok = ecdsa.VerifyASN1(p, digest, sig)
	case ed25519.PublicKey:
		if alg == "ED25519_SHA_512" {
			ok = ed25519.Verify(p, msg, sig)
		} else {
			// ED25519_PH_SHA_512 over a DIGEST message: Ed25519ph whose message is that digest.
			d := sha512.Sum512(digest)
			ok = ed25519.VerifyWithOptions(p, d[:], sig, &ed25519.Options{Hash: stdcrypto.SHA512}) == nil
		}
	}
	if !ok {
		t.Fatalf("%s signature does not verify with the standard library", alg)
	}
}

// opensslVerify verifies with the openssl binary: dgst over a raw message,
// pkeyutl over a digest (and for Ed25519, pkeyutl -rawin).
func opensslVerify(dir, pemFile string, alg types.SigningAlgorithmSpec, hname string, in []byte, mt types.MessageType, sig []byte) error {
	inFile, sigFile := filepath.Join(dir, "in"), filepath.Join(dir, "sig")
	if err := os.WriteFile(inFile, in, 0o600); err != nil {
		return err
	}
	if err := os.WriteFile(sigFile, sig, 0o600); err != nil {
		return err
	}
	pss := strings.HasPrefix(string(alg), "RSASSA_PSS")
	var args []string
	switch {
	case alg == "ED25519_SHA_512":
		args = []string{"pkeyutl", "-verify", "-pubin", "-inkey", pemFile, "-rawin", "-in", inFile, "-sigfile", sigFile}
	case mt == types.MessageTypeRaw:
		args = []string{"dgst", "-" + hname, "-verify", pemFile, "-signature", sigFile}
		if pss {
			args = append(args, "-sigopt", "rsa_padding_mode:pss", "-sigopt", "rsa_pss_saltlen:digest")
		}
		args = append(args, inFile)
	default:
		args = []string{"pkeyutl", "-verify", "-pubin", "-inkey", pemFile, "-in", inFile, "-sigfile", sigFile}
		if strings.HasPrefix(string(alg), "RSASSA") {
			args = append(args, "-pkeyopt", "digest:"+hname)
		}
		if pss {
			args = append(args, "-pkeyopt", "rsa_padding_mode:pss", "-pkeyopt", "rsa_pss_saltlen:digest")
		}
	}
	out, err := exec.Command("openssl", args...).CombinedOutput()
	if err != nil {
		return &opensslError{args: args, out: string(out), err: err}
	}
	return nil
}

type opensslError struct {
	args []string
	out  string
	err  error
}

func (e *opensslError) Error() string {
	return "openssl " + strings.Join(e.args, " ") + ": " + e.err.Error() + ": " + e.out
}

// TestMacEverySpec: every HMAC spec generates and verifies MACs through
// followers and the leader; the MAC is the standard HMAC of the message
// (checked against a second key's MAC differing, since the key never
// leaves); a wrong MAC is KMSInvalidMacException; wrong-usage calls are
// InvalidKeyUsageException.
func TestMacEverySpec(t *testing.T) {
	c := startUnsealedCluster(t)
	s := newSpread(c)
	msg := []byte("a token to authenticate")
	sizes := map[types.KeySpec]int{types.KeySpecHmac224: 28, types.KeySpecHmac256: 32, types.KeySpecHmac384: 48, types.KeySpecHmac512: 64}
	for spec, size := range sizes {
		alg := types.MacAlgorithmSpec("HMAC_SHA_" + strings.TrimPrefix(string(spec), "HMAC_"))
		ck, err := s.next().CreateKey(ctx10(t), &kms.CreateKeyInput{KeySpec: spec, KeyUsage: types.KeyUsageTypeGenerateVerifyMac})
		if err != nil {
			t.Fatal(err)
		}
		id := ck.KeyMetadata.KeyId
		d, err := s.next().DescribeKey(ctx10(t), &kms.DescribeKeyInput{KeyId: id})
		if err != nil || !slices.Equal(d.KeyMetadata.MacAlgorithms, []types.MacAlgorithmSpec{alg}) || d.KeyMetadata.KeySpec != spec {
			t.Fatalf("DescribeKey %s: %+v %v", spec, d, err)
		}
		m, err := s.next().GenerateMac(ctx10(t), &kms.GenerateMacInput{KeyId: id, Message: msg, MacAlgorithm: alg})
		if err != nil || len(m.Mac) != size || m.MacAlgorithm != alg {
			t.Fatalf("GenerateMac %s: %+v %v", spec, m, err)
		}
		again, err := s.next().GenerateMac(ctx10(t), &kms.GenerateMacInput{KeyId: id, Message: msg, MacAlgorithm: alg})
		if err != nil || !bytes.Equal(again.Mac, m.Mac) {
			t.Fatalf("GenerateMac %s is not deterministic across nodes: %v", spec, err)
		}
		v, err := s.next().VerifyMac(ctx10(t), &kms.VerifyMacInput{KeyId: id, Message: msg, MacAlgorithm: alg, Mac: m.Mac})
		if err != nil || !v.MacValid {
			t.Fatalf("VerifyMac %s: %v", spec, err)
		}
		bad := bytes.Clone(m.Mac)
		bad[3] ^= 0x80
		_, err = s.next().VerifyMac(ctx10(t), &kms.VerifyMacInput{KeyId: id, Message: msg, MacAlgorithm: alg, Mac: bad})
		wantCode(t, "VerifyMac of an altered MAC", err, "KMSInvalidMacException")
		_, err = s.next().Sign(ctx10(t), &kms.SignInput{KeyId: id, Message: msg, SigningAlgorithm: "ECDSA_SHA_256"})
		wantCode(t, "Sign with an HMAC key", err, "InvalidKeyUsageException")
		_, err = s.next().GetPublicKey(ctx10(t), &kms.GetPublicKeyInput{KeyId: id})
		wantCode(t, "GetPublicKey of an HMAC key", err, "UnsupportedOperationException")
	}
	ck, err := s.next().CreateKey(ctx10(t), &kms.CreateKeyInput{KeySpec: types.KeySpecEccNistP256, KeyUsage: types.KeyUsageTypeSignVerify})
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.next().Encrypt(ctx10(t), &kms.EncryptInput{KeyId: ck.KeyMetadata.KeyId, Plaintext: msg})
	wantCode(t, "Encrypt with a SIGN_VERIFY key", err, "InvalidKeyUsageException")
	_, err = s.next().CreateKey(ctx10(t), &kms.CreateKeyInput{KeySpec: types.KeySpecHmac256})
	wantCode(t, "an HMAC key without its usage", err, "ValidationException")

	// The audit log names the algorithm and never holds a message, a MAC or a signature.
	sig, err := s.next().Sign(ctx10(t), &kms.SignInput{KeyId: ck.KeyMetadata.KeyId, Message: msg, SigningAlgorithm: "ECDSA_SHA_256"})
	if err != nil {
		t.Fatal(err)
	}
	leader := c.waitLeader(10*time.Second, "")
	for name, param := range map[string]string{"GenerateMac": "macAlgorithm", "VerifyMac": "macAlgorithm", "Sign": "signingAlgorithm"} {
		evs := auditEvents(t, leader.api, "event_name="+name)
		if len(evs) == 0 {
			t.Fatalf("no %s event", name)
		}
		for _, ev := range evs {
			rp, _ := ev["requestParameters"].(map[string]any)
			if rp[param] == nil || rp["message"] != nil || rp["mac"] != nil {
				t.Fatalf("%s event parameters: %v", name, rp)
			}
			b, _ := json.Marshal(ev)
			for _, secret := range [][]byte{msg, sig.Signature} {
				if bytes.Contains(b, []byte(base64.StdEncoding.EncodeToString(secret))) || bytes.Contains(b, secret) {
					t.Fatalf("%s event holds a message or signature: %s", name, b)
				}
			}
			if re, _ := ev["responseElements"].(map[string]any); re["mac"] != nil || re["signature"] != nil {
				t.Fatalf("%s event response: %v", name, re)
			}
		}
	}
}

// TestSigningKeysSurviveFailover: signing and MAC keys made before the
// leader dies sign, verify and MAC the same after it, through the new
// leader: their sealed material was replicated, not kept by the old leader.
// The same holds after every node has stopped and restarted.
func TestSigningKeysSurviveFailover(t *testing.T) {
	c := startUnsealedCluster(t)
	s := newSpread(c)
	msg := []byte("before and after")
	type signed struct {
		id  *string
		alg types.SigningAlgorithmSpec
		pub []byte
		sig []byte
	}
	var keys []signed
	for _, sp := range []struct {
		spec types.KeySpec
		alg  types.SigningAlgorithmSpec
	}{{types.KeySpecRsa2048, "RSASSA_PSS_SHA_256"}, {types.KeySpecEccNistP256, "ECDSA_SHA_256"}, {types.KeySpecEccSecgP256k1, "ECDSA_SHA_256"}, {types.KeySpecEccNistEdwards25519, "ED25519_SHA_512"}} {
		ck, err := s.next().CreateKey(ctx10(t), &kms.CreateKeyInput{KeySpec: sp.spec, KeyUsage: types.KeyUsageTypeSignVerify})
		if err != nil {
			t.Fatal(err)
		}
		pk, err := s.next().GetPublicKey(ctx10(t), &kms.GetPublicKeyInput{KeyId: ck.KeyMetadata.KeyId})
		if err != nil {
			t.Fatal(err)
		}
		sig, err := s.next().Sign(ctx10(t), &kms.SignInput{KeyId: ck.KeyMetadata.KeyId, Message: msg, SigningAlgorithm: sp.alg})
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, signed{ck.KeyMetadata.KeyId, sp.alg, pk.PublicKey, sig.Signature})
	}
	hk, err := s.next().CreateKey(ctx10(t), &kms.CreateKeyInput{KeySpec: types.KeySpecHmac256, KeyUsage: types.KeyUsageTypeGenerateVerifyMac})
	if err != nil {
		t.Fatal(err)
	}
	mac, err := s.next().GenerateMac(ctx10(t), &kms.GenerateMacInput{KeyId: hk.KeyMetadata.KeyId, Message: msg, MacAlgorithm: "HMAC_SHA_256"})
	if err != nil {
		t.Fatal(err)
	}

	leader := c.waitLeader(10*time.Second, "")
	leader.kill()
	newLeader := c.waitLeader(10*time.Second, leader.id)
	t.Logf("killed %s, %s leads", leader.id, newLeader.id)
	var survivors []*proc
	for _, p := range c.nodes {
		if p != leader {
			survivors = append(survivors, p)
		}
	}
	checkVia := func(when string, nodes []*proc) {
		t.Helper()
		for i, k := range keys {
			cl := kmsClient(nodes[i%len(nodes)].api, c.creds, 5)
			pk, err := cl.GetPublicKey(ctxTimeout(t, 20*time.Second), &kms.GetPublicKeyInput{KeyId: k.id})
			if err != nil || !bytes.Equal(pk.PublicKey, k.pub) {
				t.Fatalf("public key of %s %s: %v", *k.id, when, err)
			}
			if _, err := cl.Verify(ctx10(t), &kms.VerifyInput{KeyId: k.id, Message: msg, SigningAlgorithm: k.alg, Signature: k.sig}); err != nil {
				t.Fatalf("a signature made before, verified %s: %v", when, err)
			}
			out, err := cl.Sign(ctx10(t), &kms.SignInput{KeyId: k.id, Message: msg, SigningAlgorithm: k.alg})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := cl.Verify(ctx10(t), &kms.VerifyInput{KeyId: k.id, Message: msg, SigningAlgorithm: k.alg, Signature: out.Signature}); err != nil {
				t.Fatalf("a signature made %s: %v", when, err)
			}
		}
		again, err := kmsClient(nodes[0].api, c.creds, 5).GenerateMac(ctxTimeout(t, 20*time.Second), &kms.GenerateMacInput{KeyId: hk.KeyMetadata.KeyId, Message: msg, MacAlgorithm: "HMAC_SHA_256"})
		if err != nil || !bytes.Equal(again.Mac, mac.Mac) {
			t.Fatalf("the HMAC key %s gives another MAC: %v", when, err)
		}
	}
	checkVia("after failover", survivors)

	// A full restart: every node stops; they come back sealed from their
	// data dirs, are unsealed, elect a leader, and the keys still work.
	for _, p := range survivors {
		p.kill()
	}
	for _, p := range c.nodes {
		p.start(c.seeds())
	}
	c.unsealEach()
	c.waitLeader(20*time.Second, "")
	checkVia("after a full restart", c.nodes)
}
