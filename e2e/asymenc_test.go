package e2e

import (
	"bytes"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
)

// TestRSAEncryptionInterop: through three nodes, requests spread over
// followers and the leader, data `openssl pkeyutl` encrypts with OAEP under
// GetPublicKey's key decrypts through Decrypt (which must be told KeyId),
// for both hashes; keyraft's own ciphertexts round-trip and ReEncrypt
// moves them to a symmetric key and back.
func TestRSAEncryptionInterop(t *testing.T) {
	c := startUnsealedCluster(t)
	s := newSpread(c)
	dir := t.TempDir()
	ck, err := s.next().CreateKey(ctxTimeout(t, 30*time.Second), &kms.CreateKeyInput{KeySpec: types.KeySpecRsa2048, KeyUsage: types.KeyUsageTypeEncryptDecrypt})
	if err != nil {
		t.Fatal(err)
	}
	id := ck.KeyMetadata.KeyId
	pk, err := s.next().GetPublicKey(ctx10(t), &kms.GetPublicKeyInput{KeyId: id})
	if err != nil {
		t.Fatal(err)
	}
	pemFile := filepath.Join(dir, "rsa.pem")
	writeFile(t, pemFile, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pk.PublicKey}))
	secret := []byte("encrypted offline, opened by keyraft")
	writeFile(t, filepath.Join(dir, "in"), secret)
	for _, tc := range []struct {
		alg types.EncryptionAlgorithmSpec
		md  string
	}{{types.EncryptionAlgorithmSpecRsaesOaepSha1, "sha1"}, {types.EncryptionAlgorithmSpecRsaesOaepSha256, "sha256"}} {
		outFile := filepath.Join(dir, tc.md+".ct")
		cmd := exec.Command("openssl", "pkeyutl", "-encrypt", "-pubin", "-inkey", pemFile, "-in", filepath.Join(dir, "in"), "-out", outFile,
			"-pkeyopt", "rsa_padding_mode:oaep", "-pkeyopt", "rsa_oaep_md:"+tc.md, "-pkeyopt", "rsa_mgf1_md:"+tc.md)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("openssl pkeyutl: %v %s", err, out)
		}
		ct, err := os.ReadFile(outFile)
		if err != nil {
			t.Fatal(err)
		}
		dec, err := s.next().Decrypt(ctx10(t), &kms.DecryptInput{KeyId: id, CiphertextBlob: ct, EncryptionAlgorithm: tc.alg})
		if err != nil || !bytes.Equal(dec.Plaintext, secret) || dec.EncryptionAlgorithm != tc.alg {
			t.Fatalf("Decrypt of openssl's %s ciphertext: %v", tc.alg, err)
		}
		_, err = s.next().Decrypt(ctx10(t), &kms.DecryptInput{CiphertextBlob: ct, EncryptionAlgorithm: tc.alg})
		wantCode(t, "Decrypt of an RSA ciphertext without KeyId", err, "InvalidCiphertextException")
		_, err = s.next().Decrypt(ctx10(t), &kms.DecryptInput{KeyId: id, CiphertextBlob: ct})
		wantCode(t, "Decrypt with an RSA key and no algorithm", err, "InvalidKeyUsageException")

		enc, err := s.next().Encrypt(ctx10(t), &kms.EncryptInput{KeyId: id, Plaintext: secret, EncryptionAlgorithm: tc.alg})
		if err != nil || len(enc.CiphertextBlob) != 256 {
			t.Fatalf("Encrypt %s: %v", tc.alg, err)
		}
		dec, err = s.next().Decrypt(ctx10(t), &kms.DecryptInput{KeyId: id, CiphertextBlob: enc.CiphertextBlob, EncryptionAlgorithm: tc.alg})
		if err != nil || !bytes.Equal(dec.Plaintext, secret) {
			t.Fatalf("round trip %s: %v", tc.alg, err)
		}
		// AWS's limit for RSA_2048: 214 bytes with SHA-1, 190 with SHA-256.
		limit := map[string]int{"sha1": 214, "sha256": 190}[tc.md]
		if _, err := s.next().Encrypt(ctx10(t), &kms.EncryptInput{KeyId: id, Plaintext: make([]byte, limit), EncryptionAlgorithm: tc.alg}); err != nil {
			t.Fatalf("Encrypt at the limit: %v", err)
		}
		_, err = s.next().Encrypt(ctx10(t), &kms.EncryptInput{KeyId: id, Plaintext: make([]byte, limit+1), EncryptionAlgorithm: tc.alg})
		wantCode(t, "Encrypt over the limit", err, "ValidationException")
	}
	sym, err := s.next().CreateKey(ctxTimeout(t, 30*time.Second), &kms.CreateKeyInput{})
	if err != nil {
		t.Fatal(err)
	}
	enc, err := s.next().Encrypt(ctx10(t), &kms.EncryptInput{KeyId: id, Plaintext: secret, EncryptionAlgorithm: types.EncryptionAlgorithmSpecRsaesOaepSha256})
	if err != nil {
		t.Fatal(err)
	}
	re, err := s.next().ReEncrypt(ctx10(t), &kms.ReEncryptInput{CiphertextBlob: enc.CiphertextBlob, SourceKeyId: id,
		SourceEncryptionAlgorithm: types.EncryptionAlgorithmSpecRsaesOaepSha256, DestinationKeyId: sym.KeyMetadata.KeyId})
	if err != nil || re.SourceEncryptionAlgorithm != types.EncryptionAlgorithmSpecRsaesOaepSha256 {
		t.Fatalf("ReEncrypt RSA to symmetric: %v", err)
	}
	dec, err := s.next().Decrypt(ctx10(t), &kms.DecryptInput{CiphertextBlob: re.CiphertextBlob})
	if err != nil || !bytes.Equal(dec.Plaintext, secret) {
		t.Fatalf("Decrypt after ReEncrypt: %v", err)
	}
}

// TestDataKeyPairAndECDHInterop: GenerateDataKeyPair's private key
// decrypts through Decrypt to what it answered in plaintext, and openssl
// derives from it the PublicKey answered; an ECDH secret derived through
// keyraft (followers and leader) equals the one crypto/ecdh derives on the
// peer's side, and a peer key of another curve is refused.
func TestDataKeyPairAndECDHInterop(t *testing.T) {
	c := startUnsealedCluster(t)
	s := newSpread(c)
	dir := t.TempDir()
	sym, err := s.next().CreateKey(ctxTimeout(t, 30*time.Second), &kms.CreateKeyInput{})
	if err != nil {
		t.Fatal(err)
	}
	encCtx := map[string]string{"app": "pairs"}
	var secrets [][]byte // private keys and shared secrets: in no audit event
	for _, spec := range []types.DataKeyPairSpec{types.DataKeyPairSpecRsa2048, types.DataKeyPairSpecEccNistP256, types.DataKeyPairSpecEccSecgP256k1, types.DataKeyPairSpecEccNistEdwards25519} {
		out, err := s.next().GenerateDataKeyPair(ctxTimeout(t, 30*time.Second), &kms.GenerateDataKeyPairInput{KeyId: sym.KeyMetadata.KeyId, KeyPairSpec: spec, EncryptionContext: encCtx})
		if err != nil || out.KeyPairSpec != spec {
			t.Fatalf("GenerateDataKeyPair %s: %v", spec, err)
		}
		dec, err := s.next().Decrypt(ctx10(t), &kms.DecryptInput{CiphertextBlob: out.PrivateKeyCiphertextBlob, EncryptionContext: encCtx})
		if err != nil || !bytes.Equal(dec.Plaintext, out.PrivateKeyPlaintext) {
			t.Fatalf("%s: the private key's ciphertext does not decrypt to it: %v", spec, err)
		}
		secrets = append(secrets, out.PrivateKeyPlaintext)
		keyFile := filepath.Join(dir, string(spec)+".key")
		writeFile(t, keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: dec.Plaintext}))
		pubDER, err := exec.Command("openssl", "pkey", "-in", keyFile, "-pubout", "-outform", "DER").Output()
		if err != nil || !bytes.Equal(pubDER, out.PublicKey) {
			t.Fatalf("%s: openssl's public key of the private key differs from PublicKey (%v)", spec, err)
		}
		np, err := s.next().GenerateDataKeyPairWithoutPlaintext(ctxTimeout(t, 30*time.Second), &kms.GenerateDataKeyPairWithoutPlaintextInput{KeyId: sym.KeyMetadata.KeyId, KeyPairSpec: spec})
		if err != nil || len(np.PrivateKeyCiphertextBlob) == 0 || len(np.PublicKey) == 0 {
			t.Fatalf("GenerateDataKeyPairWithoutPlaintext %s: %v", spec, err)
		}
	}

	for _, tc := range []struct {
		spec  types.KeySpec
		curve ecdh.Curve
		other ecdh.Curve
	}{{types.KeySpecEccNistP256, ecdh.P256(), ecdh.P384()}, {types.KeySpecEccNistP384, ecdh.P384(), ecdh.P521()}, {types.KeySpecEccNistP521, ecdh.P521(), ecdh.P256()}} {
		ck, err := s.next().CreateKey(ctxTimeout(t, 30*time.Second), &kms.CreateKeyInput{KeySpec: tc.spec, KeyUsage: types.KeyUsageTypeKeyAgreement})
		if err != nil {
			t.Fatal(err)
		}
		id := ck.KeyMetadata.KeyId
		pk, err := s.next().GetPublicKey(ctx10(t), &kms.GetPublicKeyInput{KeyId: id})
		if err != nil {
			t.Fatal(err)
		}
		parsed, err := x509.ParsePKIXPublicKey(pk.PublicKey)
		if err != nil {
			t.Fatal(err)
		}
		kmsPub, err := parsed.(*ecdsa.PublicKey).ECDH()
		if err != nil {
			t.Fatal(err)
		}
		peer, err := tc.curve.GenerateKey(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		want, err := peer.ECDH(kmsPub)
		if err != nil {
			t.Fatal(err)
		}
		peerDER, err := x509.MarshalPKIXPublicKey(peer.PublicKey())
		if err != nil {
			t.Fatal(err)
		}
		for range 3 { // each node in turn
			out, err := s.next().DeriveSharedSecret(ctx10(t), &kms.DeriveSharedSecretInput{KeyId: id, KeyAgreementAlgorithm: types.KeyAgreementAlgorithmSpecEcdh, PublicKey: peerDER})
			if err != nil || !bytes.Equal(out.SharedSecret, want) || out.KeyAgreementAlgorithm != types.KeyAgreementAlgorithmSpecEcdh {
				t.Fatalf("DeriveSharedSecret %s: %v", tc.spec, err)
			}
		}
		secrets = append(secrets, want)
		wrong, err := tc.other.GenerateKey(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		wrongDER, err := x509.MarshalPKIXPublicKey(wrong.PublicKey())
		if err != nil {
			t.Fatal(err)
		}
		_, err = s.next().DeriveSharedSecret(ctx10(t), &kms.DeriveSharedSecretInput{KeyId: id, KeyAgreementAlgorithm: types.KeyAgreementAlgorithmSpecEcdh, PublicKey: wrongDER})
		wantCode(t, "DeriveSharedSecret with another curve's key", err, "ValidationException")
		offCurve := bytes.Clone(peerDER)
		offCurve[len(offCurve)-1] ^= 1
		_, err = s.next().DeriveSharedSecret(ctx10(t), &kms.DeriveSharedSecretInput{KeyId: id, KeyAgreementAlgorithm: types.KeyAgreementAlgorithmSpecEcdh, PublicKey: offCurve})
		wantCode(t, "DeriveSharedSecret with an off-curve point", err, "ValidationException")
	}

	// Every node's audit log has the events, with the algorithm and spec,
	// and none of the secrets in any form the log could hold them.
	for _, p := range c.nodes {
		var events []map[string]any
		waitFor(t, 20*time.Second, "the key pair and ECDH events on "+p.id, func() (bool, error) {
			events = auditEvents(t, p.api, "")
			n := map[any]int{}
			for _, ev := range events {
				n[ev["eventName"]]++
			}
			if n["DeriveSharedSecret"] < 15 || n["GenerateDataKeyPair"] < 4 || n["GenerateDataKeyPairWithoutPlaintext"] < 4 {
				return false, fmt.Errorf("events so far: %v", n)
			}
			return true, nil
		})
		seenAlg := false
		for _, ev := range events {
			if ev["eventName"] == "DeriveSharedSecret" {
				rp, _ := ev["requestParameters"].(map[string]any)
				seenAlg = seenAlg || rp["keyAgreementAlgorithm"] == "ECDH"
			}
		}
		if !seenAlg {
			t.Fatalf("%s: no DeriveSharedSecret event records its algorithm", p.id)
		}
		raw, err := json.Marshal(events)
		if err != nil {
			t.Fatal(err)
		}
		for _, sec := range secrets {
			for _, form := range []string{base64.StdEncoding.EncodeToString(sec), hex.EncodeToString(sec)} {
				if bytes.Contains(raw, []byte(form)) {
					t.Fatalf("%s: a private key or shared secret is in the audit log", p.id)
				}
			}
		}
	}
}
