package kms

import (
	"bytes"
	stdcrypto "crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"testing"
	"time"

	"github.com/keyraft/keyraft/crypto"
	"github.com/keyraft/keyraft/fsm"
)

// newExternalKey creates a key of origin EXTERNAL and returns its id.
func (ts *testService) newExternalKey(tb testing.TB, spec, usage string) string {
	tb.Helper()
	in := map[string]any{"Origin": "EXTERNAL", "KeySpec": spec}
	if usage != "" {
		in["KeyUsage"] = usage
	}
	md := ts.mustCall(tb, "CreateKey", in)["KeyMetadata"].(map[string]any)
	if md["KeyState"] != "PendingImport" || md["Origin"] != "EXTERNAL" || md["Enabled"] != false {
		tb.Fatalf("CreateKey EXTERNAL: %v", md)
	}
	return md["KeyId"].(string)
}

// wrapFor gets import parameters for the key and wraps material with them
// as a client does; it returns the token and the wrapped material.
func (ts *testService) wrapFor(tb testing.TB, id, alg, spec string, material []byte) (token, wrapped []byte) {
	tb.Helper()
	out := ts.mustCall(tb, "GetParametersForImport", map[string]any{"KeyId": id, "WrappingAlgorithm": alg, "WrappingKeySpec": spec})
	pub, err := x509.ParsePKIXPublicKey(unb64(tb, out["PublicKey"]))
	if err != nil {
		tb.Fatal(err)
	}
	if validTo := out["ParametersValidTo"].(float64); validTo < float64(ts.now().Add(23*time.Hour).Unix()) {
		tb.Fatalf("ParametersValidTo %v is not 24 h ahead", validTo)
	}
	wrapped, err = crypto.WrapKeyMaterial(pub.(*rsa.PublicKey), alg, material, rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	return unb64(tb, out["ImportToken"]), wrapped
}

func (ts *testService) importMaterial(tb testing.TB, id, alg string, material []byte, extra map[string]any) map[string]any {
	tb.Helper()
	token, wrapped := ts.wrapFor(tb, id, alg, "RSA_2048", material)
	in := map[string]any{"KeyId": id, "ImportToken": token, "EncryptedKeyMaterial": wrapped, "ExpirationModel": "KEY_MATERIAL_DOES_NOT_EXPIRE"}
	for k, v := range extra {
		if v == nil {
			delete(in, k)
		} else {
			in[k] = v
		}
	}
	return ts.mustCall(tb, "ImportKeyMaterial", in)
}

func pkcs8(t testing.TB, k any) []byte {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func TestImportKeyMaterialEveryKind(t *testing.T) {
	ts := newTestService(t)
	sym := bytes.Repeat([]byte{7}, 32)
	mac := bytes.Repeat([]byte{9}, 40)
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)

	symID := ts.newExternalKey(t, "SYMMETRIC_DEFAULT", "")
	out := ts.importMaterial(t, symID, crypto.WrapOAEPSHA256, sym, nil)
	if len(out["KeyMaterialId"].(string)) != 64 {
		t.Fatalf("ImportKeyMaterial: %v", out)
	}
	enc := ts.mustCall(t, "Encrypt", map[string]any{"KeyId": symID, "Plaintext": b64("hello")})
	if dec := ts.mustCall(t, "Decrypt", map[string]any{"CiphertextBlob": enc["CiphertextBlob"]}); dec["Plaintext"] != b64("hello") {
		t.Fatalf("Decrypt: %v", dec)
	}
	md := ts.mustCall(t, "DescribeKey", map[string]any{"KeyId": symID})["KeyMetadata"].(map[string]any)
	if md["KeyState"] != "Enabled" || md["ExpirationModel"] != "KEY_MATERIAL_DOES_NOT_EXPIRE" || md["CurrentKeyMaterialId"] != out["KeyMaterialId"] {
		t.Fatalf("DescribeKey after import: %v", md)
	}

	macID := ts.newExternalKey(t, "HMAC_256", "GENERATE_VERIFY_MAC")
	ts.importMaterial(t, macID, crypto.WrapOAEPSHA1, mac, nil)
	got := ts.mustCall(t, "GenerateMac", map[string]any{"KeyId": macID, "MacAlgorithm": "HMAC_SHA_256", "Message": b64("m")})
	if !bytes.Equal(unb64(t, got["Mac"]), crypto.Mac(sha256Hash, mac, []byte("m"))) {
		t.Fatal("the MAC is not HMAC-SHA-256 under the imported key")
	}

	rsaID := ts.newExternalKey(t, "RSA_2048", "SIGN_VERIFY")
	ts.importMaterial(t, rsaID, crypto.WrapAESKeyWrapSHA2, pkcs8(t, rsaKey), nil)
	pub := ts.mustCall(t, "GetPublicKey", map[string]any{"KeyId": rsaID})
	if want, _ := x509.MarshalPKIXPublicKey(&rsaKey.PublicKey); !bytes.Equal(unb64(t, pub["PublicKey"]), want) {
		t.Fatal("GetPublicKey is not the imported key's")
	}

	ecID := ts.newExternalKey(t, "ECC_NIST_P256", "SIGN_VERIFY")
	ts.importMaterial(t, ecID, crypto.WrapOAEPSHA256, pkcs8(t, ecKey), nil)
	sig := ts.mustCall(t, "Sign", map[string]any{"KeyId": ecID, "SigningAlgorithm": "ECDSA_SHA_256", "Message": b64("msg")})
	digest := sha256Sum([]byte("msg"))
	if !ecdsa.VerifyASN1(&ecKey.PublicKey, digest[:], unb64(t, sig["Signature"])) {
		t.Fatal("the signature does not verify with the imported key")
	}
	_ = fsm.StateEnabled
}

var sha256Hash = stdcrypto.SHA256

func sha256Sum(b []byte) [32]byte { return sha256.Sum256(b) }
