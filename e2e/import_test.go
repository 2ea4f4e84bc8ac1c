package e2e

import (
	"bytes"
	stdcrypto "crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
)

// importVia wraps material as a client does (wrapForImport) and imports it.
func importVia(t *testing.T, cl *kms.Client, id *string, alg types.AlgorithmSpec, material []byte, validTo *time.Time) error {
	t.Helper()
	p, err := cl.GetParametersForImport(ctx10(t), &kms.GetParametersForImportInput{
		KeyId: id, WrappingAlgorithm: alg, WrappingKeySpec: types.WrappingKeySpecRsa2048,
	})
	if err != nil {
		t.Fatalf("GetParametersForImport: %v", err)
	}
	if p.ParametersValidTo == nil || time.Until(*p.ParametersValidTo) < 23*time.Hour {
		t.Fatalf("ParametersValidTo %v is not 24 h ahead", p.ParametersValidTo)
	}
	wrapped, err := wrapForImport(p.PublicKey, alg, material)
	if err != nil {
		t.Fatal(err)
	}
	in := &kms.ImportKeyMaterialInput{KeyId: id, ImportToken: p.ImportToken, EncryptedKeyMaterial: wrapped,
		ExpirationModel: types.ExpirationModelTypeKeyMaterialDoesNotExpire}
	if validTo != nil {
		in.ExpirationModel, in.ValidTo = types.ExpirationModelTypeKeyMaterialExpires, validTo
	}
	_, err = cl.ImportKeyMaterial(ctx10(t), in)
	return err
}

// TestImportedKeyMaterial: through three nodes, symmetric, HMAC, RSA and
// EC material brought by the client is imported (OAEP and RSA-AES key
// wrap), used through a follower, survives the leader's death, expires
// when its ValidTo passes under whichever node then leads (PendingImport,
// Encrypt refused), and re-importing the same material restores the
// decryption of ciphertext made before.
func TestImportedKeyMaterial(t *testing.T) {
	c := startUnsealedCluster(t, "-test-day-length", "400ms") // housekeeping every 100 ms
	leader := c.waitLeader(10*time.Second, "")
	cl := kmsClient(c.follower(leader).api, c.creds, 5)
	create := func(spec types.KeySpec, usage types.KeyUsageType) *string {
		out, err := cl.CreateKey(ctx10(t), &kms.CreateKeyInput{Origin: types.OriginTypeExternal, KeySpec: spec, KeyUsage: usage})
		if err != nil || out.KeyMetadata.KeyState != types.KeyStatePendingImport {
			t.Fatalf("CreateKey EXTERNAL %s: %v", spec, err)
		}
		return out.KeyMetadata.KeyId
	}
	symMaterial, macMaterial := make([]byte, 32), make([]byte, 48)
	rand.Read(symMaterial)
	rand.Read(macMaterial)
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	rsaDER, _ := x509.MarshalPKCS8PrivateKey(rsaKey)
	ecDER, _ := x509.MarshalPKCS8PrivateKey(ecKey)

	sym := create(types.KeySpecSymmetricDefault, types.KeyUsageTypeEncryptDecrypt)
	mac := create(types.KeySpecHmac256, types.KeyUsageTypeGenerateVerifyMac)
	rsaID := create(types.KeySpecRsa2048, types.KeyUsageTypeSignVerify)
	ecID := create(types.KeySpecEccNistP256, types.KeyUsageTypeSignVerify)
	for _, tc := range []struct {
		id       *string
		alg      types.AlgorithmSpec
		material []byte
	}{
		{sym, types.AlgorithmSpecRsaesOaepSha1, symMaterial},
		{mac, types.AlgorithmSpecRsaAesKeyWrapSha1, macMaterial},
		{rsaID, types.AlgorithmSpecRsaAesKeyWrapSha256, rsaDER},
		{ecID, types.AlgorithmSpecRsaesOaepSha256, ecDER},
	} {
		if err := importVia(t, cl, tc.id, tc.alg, tc.material, nil); err != nil {
			t.Fatalf("ImportKeyMaterial %s: %v", tc.alg, err)
		}
	}
	// Other material for a key that has some, and a token of another key.
	other := make([]byte, 32)
	rand.Read(other)
	wantCode(t, "import of other material", importVia(t, cl, sym, types.AlgorithmSpecRsaesOaepSha256, other, nil), "IncorrectKeyMaterialException")
	p, err := cl.GetParametersForImport(ctx10(t), &kms.GetParametersForImportInput{KeyId: mac,
		WrappingAlgorithm: types.AlgorithmSpecRsaesOaepSha256, WrappingKeySpec: types.WrappingKeySpecRsa2048})
	if err != nil {
		t.Fatal(err)
	}
	_, err = cl.ImportKeyMaterial(ctx10(t), &kms.ImportKeyMaterialInput{KeyId: sym, ImportToken: p.ImportToken,
		EncryptedKeyMaterial: make([]byte, 256), ExpirationModel: types.ExpirationModelTypeKeyMaterialDoesNotExpire})
	wantCode(t, "a token of another key", err, "InvalidImportTokenException")

	msg := []byte("signed and MACed under imported keys")
	enc, err := cl.Encrypt(ctx10(t), &kms.EncryptInput{KeyId: sym, Plaintext: msg})
	if err != nil {
		t.Fatal(err)
	}
	use := func(cl *kms.Client, when string) {
		t.Helper()
		dec, err := cl.Decrypt(ctx10(t), &kms.DecryptInput{CiphertextBlob: enc.CiphertextBlob})
		if err != nil || !bytes.Equal(dec.Plaintext, msg) {
			t.Fatalf("Decrypt %s: %v", when, err)
		}
		m, err := cl.GenerateMac(ctx10(t), &kms.GenerateMacInput{KeyId: mac, Message: msg, MacAlgorithm: types.MacAlgorithmSpecHmacSha256})
		want := hmac.New(sha256.New, macMaterial)
		want.Write(msg)
		if err != nil || !hmac.Equal(m.Mac, want.Sum(nil)) {
			t.Fatalf("GenerateMac %s is not HMAC under the imported key: %v", when, err)
		}
		digest := sha256.Sum256(msg)
		s, err := cl.Sign(ctx10(t), &kms.SignInput{KeyId: rsaID, Message: msg, SigningAlgorithm: types.SigningAlgorithmSpecRsassaPssSha256})
		if err != nil || rsa.VerifyPSS(&rsaKey.PublicKey, stdcrypto.SHA256, digest[:], s.Signature, nil) != nil {
			t.Fatalf("RSA Sign %s does not verify under the imported key: %v", when, err)
		}
		s, err = cl.Sign(ctx10(t), &kms.SignInput{KeyId: ecID, Message: msg, SigningAlgorithm: types.SigningAlgorithmSpecEcdsaSha256})
		if err != nil || !ecdsa.VerifyASN1(&ecKey.PublicKey, digest[:], s.Signature) {
			t.Fatalf("ECDSA Sign %s does not verify under the imported key: %v", when, err)
		}
	}
	use(cl, "through a follower")

	leader.kill()
	newLeader := c.waitLeader(10*time.Second, leader.id)
	t.Logf("killed %s, %s leads", leader.id, newLeader.id)
	survivor := kmsClient(newLeader.api, c.creds, 5)
	use(survivor, "after the leader died")

	// Re-import the same material with a ValidTo a few seconds ahead: the
	// new leader's housekeeping expires it.
	validTo := time.Now().Add(3 * time.Second)
	if err := importVia(t, survivor, sym, types.AlgorithmSpecRsaesOaepSha256, symMaterial, &validTo); err != nil {
		t.Fatal(err)
	}
	d, err := survivor.DescribeKey(ctx10(t), &kms.DescribeKeyInput{KeyId: sym})
	if err != nil || d.KeyMetadata.ExpirationModel != types.ExpirationModelTypeKeyMaterialExpires || d.KeyMetadata.ValidTo == nil ||
		d.KeyMetadata.CurrentKeyMaterialId == nil || d.KeyMetadata.Origin != types.OriginTypeExternal {
		t.Fatalf("DescribeKey after an import that expires: %+v %v", d, err)
	}
	waitFor(t, 20*time.Second, "the imported material to expire", func() (bool, error) {
		d, err := survivor.DescribeKey(ctx10(t), &kms.DescribeKeyInput{KeyId: sym})
		return err == nil && d.KeyMetadata.KeyState == types.KeyStatePendingImport, err
	})
	_, err = survivor.Encrypt(ctx10(t), &kms.EncryptInput{KeyId: sym, Plaintext: msg})
	wantCode(t, "Encrypt with expired material", err, "KMSInvalidStateException")
	_, err = survivor.Decrypt(ctx10(t), &kms.DecryptInput{CiphertextBlob: enc.CiphertextBlob})
	wantCode(t, "Decrypt with expired material", err, "KMSInvalidStateException")

	if err := importVia(t, survivor, sym, types.AlgorithmSpecRsaAesKeyWrapSha256, symMaterial, nil); err != nil {
		t.Fatalf("re-import of the same material: %v", err)
	}
	dec, err := survivor.Decrypt(ctx10(t), &kms.DecryptInput{CiphertextBlob: enc.CiphertextBlob})
	if err != nil || !bytes.Equal(dec.Plaintext, msg) {
		t.Fatalf("Decrypt of old ciphertext after re-import: %v", err)
	}

	// DeleteImportedKeyMaterial on demand.
	if _, err := survivor.DeleteImportedKeyMaterial(ctx10(t), &kms.DeleteImportedKeyMaterialInput{KeyId: mac}); err != nil {
		t.Fatal(err)
	}
	_, err = survivor.GenerateMac(ctx10(t), &kms.GenerateMacInput{KeyId: mac, Message: msg, MacAlgorithm: types.MacAlgorithmSpecHmacSha256})
	wantCode(t, "GenerateMac after DeleteImportedKeyMaterial", err, "KMSInvalidStateException")

	// Each operation and the expiry are audited; no event holds a token, a
	// wrapping key or material.
	for _, name := range []string{"GetParametersForImport", "ImportKeyMaterial", "DeleteImportedKeyMaterial", "DeleteExpiredKeyMaterial"} {
		evs := auditEvents(t, newLeader.api, "event_name="+name)
		if len(evs) == 0 {
			t.Fatalf("no %s event", name)
		}
		for _, ev := range evs {
			b, _ := json.Marshal(ev)
			for _, bad := range []string{"importToken", "encryptedKeyMaterial", "publicKey", base64.StdEncoding.EncodeToString(symMaterial),
				base64.StdEncoding.EncodeToString(macMaterial), hex.EncodeToString(symMaterial)} {
				if bytes.Contains(b, []byte(bad)) {
					t.Fatalf("%s event holds %q: %s", name, bad, b)
				}
			}
		}
	}
}
