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
	"strconv"
	"strings"
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

func TestCreateKeyExternalRefusals(t *testing.T) {
	ts := newTestService(t)
	ts.refused(t, "CreateKey", map[string]any{"Origin": "EXTERNAL", "KeySpec": "ML_DSA_44", "KeyUsage": "SIGN_VERIFY"},
		"UnsupportedOperationException", "KeySpec ML_DSA_44 is not supported for keys with Origin EXTERNAL by this server.")
	ts.refused(t, "CreateKey", map[string]any{"Origin": "AWS_CLOUDHSM"}, "UnsupportedOperationException", "")
	id := ts.newExternalKey(t, "SYMMETRIC_DEFAULT", "")
	// Without material every cryptographic operation is refused by state.
	ts.refused(t, "Encrypt", map[string]any{"KeyId": id, "Plaintext": b64("x")}, "KMSInvalidStateException", "")
	ts.refused(t, "EnableKey", map[string]any{"KeyId": id}, "KMSInvalidStateException", "")
	ts.refused(t, "EnableKeyRotation", map[string]any{"KeyId": id}, "UnsupportedOperationException", "")
	// Key management still works on a PendingImport key.
	ts.mustCall(t, "TagResource", map[string]any{"KeyId": id, "Tags": []map[string]string{{"TagKey": "a", "TagValue": "b"}}})
	ts.mustCall(t, "CreateAlias", map[string]any{"AliasName": "alias/ext", "TargetKeyId": id})
}

func TestGetParametersForImportErrors(t *testing.T) {
	ts := newTestService(t)
	id := ts.newExternalKey(t, "RSA_2048", "SIGN_VERIFY")
	native, _ := ts.newKey(t)
	ok := map[string]any{"KeyId": id, "WrappingAlgorithm": "RSA_AES_KEY_WRAP_SHA_256", "WrappingKeySpec": "RSA_2048"}
	with := func(k string, v any) map[string]any {
		m := map[string]any{}
		for a, b := range ok {
			m[a] = b
		}
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
		return m
	}
	ts.refused(t, "GetParametersForImport", with("WrappingAlgorithm", nil), "ValidationException", "")
	ts.refused(t, "GetParametersForImport", with("WrappingKeySpec", "RSA_1024"), "ValidationException", "")
	ts.refused(t, "GetParametersForImport", with("WrappingKeySpec", "SM2"), "UnsupportedOperationException", "")
	ts.refused(t, "GetParametersForImport", with("WrappingAlgorithm", "RSAES_PKCS1_V1_5"), "ValidationException", "")
	// RSA private keys are too long for OAEP alone.
	ts.refused(t, "GetParametersForImport", with("WrappingAlgorithm", "RSAES_OAEP_SHA_256"), "ValidationException", "")
	ts.refused(t, "GetParametersForImport", with("KeyId", native), "UnsupportedOperationException", "")
	ts.refused(t, "GetParametersForImport", with("KeyId", missingKeyID), "NotFoundException", "")
	ts.mustCall(t, "ScheduleKeyDeletion", map[string]any{"KeyId": id, "PendingWindowInDays": 7})
	ts.refused(t, "GetParametersForImport", ok, "KMSInvalidStateException", "")
}

func TestImportKeyMaterialErrors(t *testing.T) {
	ts := newTestService(t)
	sym := bytes.Repeat([]byte{1}, 32)
	id := ts.newExternalKey(t, "SYMMETRIC_DEFAULT", "")
	other := ts.newExternalKey(t, "SYMMETRIC_DEFAULT", "")
	mac := ts.newExternalKey(t, "HMAC_384", "GENERATE_VERIFY_MAC")
	token, wrapped := ts.wrapFor(t, id, crypto.WrapOAEPSHA256, "RSA_2048", sym)
	req := func(k string, v any) map[string]any {
		m := map[string]any{"KeyId": id, "ImportToken": token, "EncryptedKeyMaterial": wrapped, "ExpirationModel": "KEY_MATERIAL_DOES_NOT_EXPIRE"}
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
		return m
	}
	// Expiration model and ValidTo.
	ts.refused(t, "ImportKeyMaterial", req("ExpirationModel", nil), "ValidationException", "ValidTo is required when ExpirationModel is KEY_MATERIAL_EXPIRES.")
	in := req("ValidTo", float64(ts.now().Add(time.Hour).Unix()))
	ts.refused(t, "ImportKeyMaterial", in, "ValidationException", "ValidTo must not be specified when ExpirationModel is KEY_MATERIAL_DOES_NOT_EXPIRE.")
	in["ExpirationModel"] = "KEY_MATERIAL_EXPIRES"
	in["ValidTo"] = float64(ts.now().Add(-time.Minute).Unix())
	ts.refused(t, "ImportKeyMaterial", in, "ValidationException", "ValidTo must be in the future.")
	in["ValidTo"] = float64(ts.now().Add(366 * 24 * time.Hour).Unix())
	ts.refused(t, "ImportKeyMaterial", in, "ValidationException", "ValidTo must be at most 365 days from now.")
	// Token: of another key, tampered, expired.
	ts.refused(t, "ImportKeyMaterial", req("KeyId", other), "InvalidImportTokenException", "")
	bad := bytes.Clone(token)
	bad[len(bad)-1] ^= 1
	ts.refused(t, "ImportKeyMaterial", req("ImportToken", bad), "InvalidImportTokenException", "")
	ts.refused(t, "ImportKeyMaterial", req("ImportToken", []byte{}), "ValidationException", "")
	// Material: not decryptable, wrong length.
	garbled := bytes.Clone(wrapped)
	garbled[10] ^= 1
	ts.refused(t, "ImportKeyMaterial", req("EncryptedKeyMaterial", garbled), "InvalidCiphertextException", "")
	t16, w16 := ts.wrapFor(t, id, crypto.WrapOAEPSHA1, "RSA_3072", sym[:16])
	m := req("ImportToken", t16)
	m["EncryptedKeyMaterial"] = w16
	ts.refused(t, "ImportKeyMaterial", m, "IncorrectKeyMaterialException", "")
	tm, wm := ts.wrapFor(t, mac, crypto.WrapOAEPSHA1, "RSA_2048", bytes.Repeat([]byte{2}, 129)) // HMAC_384 takes 48..128
	ts.refused(t, "ImportKeyMaterial", map[string]any{"KeyId": mac, "ImportToken": tm, "EncryptedKeyMaterial": wm,
		"ExpirationModel": "KEY_MATERIAL_DOES_NOT_EXPIRE"}, "IncorrectKeyMaterialException", "")
	ts.refused(t, "ImportKeyMaterial", map[string]any{"KeyId": mac, "ImportToken": tm, "EncryptedKeyMaterial": wm,
		"ExpirationModel": "KEY_MATERIAL_DOES_NOT_EXPIRE", "ImportType": "NEW_KEY_MATERIAL"}, "ValidationException", "")
	// The token expires after 24 h.
	ts.advance(24*time.Hour + time.Second)
	ts.refused(t, "ImportKeyMaterial", req("", nil), "ExpiredImportTokenException", "")
	// Not an EXTERNAL key.
	native, _ := ts.newKey(t)
	ts.refused(t, "ImportKeyMaterial", req("KeyId", native), "UnsupportedOperationException", "")
}

// TestImportedMaterialLifecycle: expiry by housekeeping, deletion on
// demand, re-import of the same material (old ciphertext decrypts again),
// refusal of other material, and DeleteImportedKeyMaterial's errors.
func TestImportedMaterialLifecycle(t *testing.T) {
	ts := newTestService(t)
	ctx := t.Context()
	sym := bytes.Repeat([]byte{3}, 32)
	id := ts.newExternalKey(t, "SYMMETRIC_DEFAULT", "")
	ts.refused(t, "DeleteImportedKeyMaterial", map[string]any{"KeyId": id}, "KMSInvalidStateException", "")
	validTo := ts.advance(0).Add(time.Hour)
	ts.importMaterial(t, id, crypto.WrapOAEPSHA256, sym, map[string]any{"ExpirationModel": "KEY_MATERIAL_EXPIRES", "ValidTo": float64(validTo.Unix())})
	enc := ts.mustCall(t, "Encrypt", map[string]any{"KeyId": id, "Plaintext": b64("old")})
	md := ts.mustCall(t, "DescribeKey", map[string]any{"KeyId": id})["KeyMetadata"].(map[string]any)
	if md["ValidTo"] != float64(validTo.Unix()) || md["ExpirationModel"] != "KEY_MATERIAL_EXPIRES" {
		t.Fatalf("DescribeKey: %v", md)
	}
	// Not yet due: housekeeping leaves it.
	if err := ts.Housekeeping(ctx); err != nil {
		t.Fatal(err)
	}
	ts.mustCall(t, "Encrypt", map[string]any{"KeyId": id, "Plaintext": b64("x")})
	ts.advance(time.Hour)
	// Due but not yet swept: the material is refused all the same.
	ts.refused(t, "Encrypt", map[string]any{"KeyId": id, "Plaintext": b64("x")}, "KMSInvalidStateException", "")
	ts.refused(t, "Decrypt", map[string]any{"CiphertextBlob": enc["CiphertextBlob"]}, "KMSInvalidStateException", "")
	if err := ts.Housekeeping(ctx); err != nil {
		t.Fatal(err)
	}
	k, _ := ts.State.Key(id)
	if k.KeyState != fsm.StatePendingImport || len(k.Material[0].Sealed) != 0 || len(ts.material) != 0 {
		t.Fatalf("after expiry: state %s, sealed %d bytes, %d cached", k.KeyState, len(k.Material[0].Sealed), len(ts.material))
	}
	ts.refused(t, "Decrypt", map[string]any{"CiphertextBlob": enc["CiphertextBlob"]}, "KMSInvalidStateException", "")
	// Other material is refused; the same material restores the key.
	ts.refused(t, "ImportKeyMaterial", ts.importRequest(t, id, bytes.Repeat([]byte{4}, 32)), "IncorrectKeyMaterialException", "")
	ts.importMaterial(t, id, crypto.WrapAESKeyWrapSHA1, sym, nil)
	if dec := ts.mustCall(t, "Decrypt", map[string]any{"CiphertextBlob": enc["CiphertextBlob"]}); dec["Plaintext"] != b64("old") {
		t.Fatalf("Decrypt after re-import: %v", dec)
	}
	// Deletion on demand; a key pending deletion stays so.
	out := ts.mustCall(t, "DeleteImportedKeyMaterial", map[string]any{"KeyId": id})
	if len(out["KeyMaterialId"].(string)) != 64 {
		t.Fatalf("DeleteImportedKeyMaterial: %v", out)
	}
	ts.refused(t, "DeleteImportedKeyMaterial", map[string]any{"KeyId": id, "KeyMaterialId": out["KeyMaterialId"]}, "KMSInvalidStateException", "")
	ts.refused(t, "DeleteImportedKeyMaterial", map[string]any{"KeyId": id, "KeyMaterialId": strings.Repeat("0", 64)}, "NotFoundException", "")
	ts.importMaterial(t, id, crypto.WrapOAEPSHA1, sym, nil)
	ts.mustCall(t, "ScheduleKeyDeletion", map[string]any{"KeyId": id, "PendingWindowInDays": 7})
	ts.mustCall(t, "DeleteImportedKeyMaterial", map[string]any{"KeyId": id})
	if k, _ := ts.State.Key(id); k.KeyState != fsm.StatePendingDeletion {
		t.Fatalf("state %s after deleting material of a key pending deletion", k.KeyState)
	}
	ts.mustCall(t, "CancelKeyDeletion", map[string]any{"KeyId": id})
	if k, _ := ts.State.Key(id); k.KeyState != fsm.StatePendingImport {
		t.Fatalf("state %s after cancelling the deletion of a key without material", k.KeyState)
	}
	native, _ := ts.newKey(t)
	ts.refused(t, "DeleteImportedKeyMaterial", map[string]any{"KeyId": native}, "UnsupportedOperationException", "")
}

// importRequest wraps material for an ImportKeyMaterial request without sending it.
func (ts *testService) importRequest(tb testing.TB, id string, material []byte) map[string]any {
	token, wrapped := ts.wrapFor(tb, id, crypto.WrapOAEPSHA256, "RSA_2048", material)
	return map[string]any{"KeyId": id, "ImportToken": token, "EncryptedKeyMaterial": wrapped, "ExpirationModel": "KEY_MATERIAL_DOES_NOT_EXPIRE"}
}

// TestRotateImportedKeyOnDemand: new material imported with
// NEW_KEY_MATERIAL waits (PENDING_ROTATION) until RotateKeyOnDemand makes
// it current; ciphertexts under both versions decrypt.
func TestRotateImportedKeyOnDemand(t *testing.T) {
	ts := newTestService(t)
	id := ts.newExternalKey(t, "SYMMETRIC_DEFAULT", "")
	first := ts.importMaterial(t, id, crypto.WrapOAEPSHA256, bytes.Repeat([]byte{5}, 32), nil)["KeyMaterialId"]
	ts.refused(t, "RotateKeyOnDemand", map[string]any{"KeyId": id}, "KMSInvalidStateException", "")
	old := ts.mustCall(t, "Encrypt", map[string]any{"KeyId": id, "Plaintext": b64("v1")})
	second := ts.importMaterial(t, id, crypto.WrapOAEPSHA256, bytes.Repeat([]byte{6}, 32),
		map[string]any{"ImportType": "NEW_KEY_MATERIAL", "KeyMaterialDescription": "next"})["KeyMaterialId"]
	ts.refused(t, "ImportKeyMaterial", func() map[string]any {
		m := ts.importRequest(t, id, bytes.Repeat([]byte{7}, 32))
		m["ImportType"] = "NEW_KEY_MATERIAL"
		return m
	}(), "KMSInvalidStateException", "")
	rot := ts.mustCall(t, "ListKeyRotations", map[string]any{"KeyId": id, "IncludeKeyMaterial": "ALL_KEY_MATERIAL"})["Rotations"].([]any)
	if len(rot) != 2 || rot[1].(map[string]any)["KeyMaterialState"] != "PENDING_ROTATION" || rot[1].(map[string]any)["KeyMaterialId"] != second ||
		rot[0].(map[string]any)["ImportState"] != "IMPORTED" || rot[1].(map[string]any)["KeyMaterialDescription"] != "next" {
		t.Fatalf("ListKeyRotations before rotating: %v", rot)
	}
	// Neither the first material nor the one pending rotation is a rotation.
	for _, in := range []map[string]any{{"KeyId": id}, {"KeyId": id, "IncludeKeyMaterial": "ROTATIONS_ONLY"}} {
		if rot := ts.mustCall(t, "ListKeyRotations", in)["Rotations"].([]any); len(rot) != 0 {
			t.Fatalf("ListKeyRotations %v lists material that is no rotation: %v", in, rot)
		}
	}
	ts.mustCall(t, "RotateKeyOnDemand", map[string]any{"KeyId": id})
	md := ts.mustCall(t, "DescribeKey", map[string]any{"KeyId": id})["KeyMetadata"].(map[string]any)
	if md["CurrentKeyMaterialId"] != second || md["CurrentKeyMaterialId"] == first {
		t.Fatalf("CurrentKeyMaterialId after rotation: %v", md)
	}
	neu := ts.mustCall(t, "Encrypt", map[string]any{"KeyId": id, "Plaintext": b64("v2")})
	if blobVersion(t, neu["CiphertextBlob"]) != 2 {
		t.Fatal("Encrypt after rotation is not under version 2")
	}
	for want, enc := range map[string]map[string]any{"v1": old, "v2": neu} {
		if dec := ts.mustCall(t, "Decrypt", map[string]any{"CiphertextBlob": enc["CiphertextBlob"]}); dec["Plaintext"] != b64(want) {
			t.Fatalf("Decrypt %s: %v", want, dec)
		}
	}
	// Deleting the older material makes the key PendingImport until it is back.
	ts.mustCall(t, "DeleteImportedKeyMaterial", map[string]any{"KeyId": id, "KeyMaterialId": first})
	ts.refused(t, "Encrypt", map[string]any{"KeyId": id, "Plaintext": b64("x")}, "KMSInvalidStateException", "")
	m := ts.importRequest(t, id, bytes.Repeat([]byte{5}, 32))
	m["KeyMaterialId"] = first
	ts.mustCall(t, "ImportKeyMaterial", m)
	if dec := ts.mustCall(t, "Decrypt", map[string]any{"CiphertextBlob": old["CiphertextBlob"]}); dec["Plaintext"] != b64("v1") {
		t.Fatalf("Decrypt v1 after re-import: %v", dec)
	}
}

// TestImportConditions: kms:WrappingAlgorithm, kms:WrappingKeySpec,
// kms:ExpirationModel and kms:KeyOrigin reach the key policy; grants never
// allow the import operations.
func TestImportConditions(t *testing.T) {
	ts := newTestService(t)
	alice := testUser("alice")
	id := ts.newExternalKey(t, "SYMMETRIC_DEFAULT", "")
	policy := `{"Version":"2012-10-17","Statement":[` +
		`{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"kms:*","Resource":"*"},` +
		`{"Effect":"Allow","Principal":{"AWS":"` + alice.PrincipalARN + `"},"Action":"kms:GetParametersForImport","Resource":"*",` +
		`"Condition":{"StringEquals":{"kms:WrappingAlgorithm":"RSA_AES_KEY_WRAP_SHA_256","kms:WrappingKeySpec":"RSA_3072","kms:KeyOrigin":"EXTERNAL"}}},` +
		`{"Effect":"Allow","Principal":{"AWS":"` + alice.PrincipalARN + `"},"Action":"kms:ImportKeyMaterial","Resource":"*",` +
		`"Condition":{"StringEquals":{"kms:ExpirationModel":"KEY_MATERIAL_EXPIRES"},` +
		`"NumericLessThanEquals":{"kms:ValidTo":` + strconv.FormatInt(ts.now().Add(2*time.Hour).Unix(), 10) + `}}}]}`
	ts.mustCall(t, "PutKeyPolicy", map[string]any{"KeyId": id, "Policy": policy})
	params := func(alg, spec string) map[string]any {
		return map[string]any{"KeyId": id, "WrappingAlgorithm": alg, "WrappingKeySpec": spec}
	}
	if _, e := ts.callAs(t, alice, "GetParametersForImport", params("RSA_AES_KEY_WRAP_SHA_256", "RSA_3072")); e != nil {
		t.Fatalf("the allowed wrapping: %v", e)
	}
	for _, p := range []map[string]any{params("RSAES_OAEP_SHA_256", "RSA_3072"), params("RSA_AES_KEY_WRAP_SHA_256", "RSA_2048")} {
		if _, e := ts.callAs(t, alice, "GetParametersForImport", p); e == nil || e.Type != "AccessDeniedException" {
			t.Fatalf("%v: %v, want AccessDeniedException", p, e)
		}
	}
	in := ts.importRequest(t, id, bytes.Repeat([]byte{8}, 32))
	if _, e := ts.callAs(t, alice, "ImportKeyMaterial", in); e == nil || e.Type != "AccessDeniedException" {
		t.Fatalf("KEY_MATERIAL_DOES_NOT_EXPIRE against a policy that requires expiry: %v", e)
	}
	in["ExpirationModel"], in["ValidTo"] = "KEY_MATERIAL_EXPIRES", float64(ts.now().Add(3*time.Hour).Unix())
	if _, e := ts.callAs(t, alice, "ImportKeyMaterial", in); e == nil || e.Type != "AccessDeniedException" {
		t.Fatalf("a ValidTo past the policy's NumericLessThanEquals: %v", e)
	}
	in["ValidTo"] = float64(ts.now().Add(time.Hour).Unix())
	if _, e := ts.callAs(t, alice, "ImportKeyMaterial", in); e != nil {
		t.Fatalf("an import the policy allows: %v", e)
	}
	if _, e := ts.callAs(t, alice, "DeleteImportedKeyMaterial", map[string]any{"KeyId": id}); e == nil || e.Type != "AccessDeniedException" {
		t.Fatalf("DeleteImportedKeyMaterial without kms:DeleteImportedKeyMaterial: %v", e)
	}
	if _, e := ts.call(t, "CreateGrant", map[string]any{"KeyId": id, "GranteePrincipal": alice.PrincipalARN,
		"Operations": []string{"ImportKeyMaterial"}}); e == nil || e.Type != "ValidationException" {
		t.Fatalf("a grant for ImportKeyMaterial: %v", e)
	}
}

func TestImportHMACLengths(t *testing.T) {
	ts := newTestService(t)
	id := ts.newExternalKey(t, "HMAC_384", "GENERATE_VERIFY_MAC")
	ts.refused(t, "ImportKeyMaterial", ts.importRequest(t, id, bytes.Repeat([]byte{1}, 47)), "IncorrectKeyMaterialException", "")
	ts.importMaterial(t, id, crypto.WrapOAEPSHA256, bytes.Repeat([]byte{1}, 128), nil)
	out := ts.mustCall(t, "GenerateMac", map[string]any{"KeyId": id, "MacAlgorithm": "HMAC_SHA_384", "Message": b64("m")})
	if !bytes.Equal(unb64(t, out["Mac"]), crypto.Mac(stdcrypto.SHA384, bytes.Repeat([]byte{1}, 128), []byte("m"))) {
		t.Fatal("the MAC is not HMAC-SHA-384 under the 128-byte imported key")
	}
}

func TestImportOperationsOnMissingOrDeletingKeys(t *testing.T) {
	ts := newTestService(t)
	id := ts.newExternalKey(t, "SYMMETRIC_DEFAULT", "")
	in := ts.importRequest(t, id, bytes.Repeat([]byte{9}, 32))
	missing := map[string]any{"KeyId": missingKeyID, "ImportToken": in["ImportToken"], "EncryptedKeyMaterial": in["EncryptedKeyMaterial"],
		"ExpirationModel": "KEY_MATERIAL_DOES_NOT_EXPIRE"}
	ts.refused(t, "ImportKeyMaterial", missing, "NotFoundException", "")
	ts.refused(t, "DeleteImportedKeyMaterial", map[string]any{"KeyId": missingKeyID}, "NotFoundException", "")
	ts.refused(t, "ImportKeyMaterial", map[string]any{"KeyId": "alias/x", "ImportToken": in["ImportToken"],
		"EncryptedKeyMaterial": in["EncryptedKeyMaterial"], "ExpirationModel": "KEY_MATERIAL_DOES_NOT_EXPIRE"}, "NotFoundException", "")
	ts.mustCall(t, "ScheduleKeyDeletion", map[string]any{"KeyId": id, "PendingWindowInDays": 7})
	ts.refused(t, "ImportKeyMaterial", in, "KMSInvalidStateException", "")
	// A disabled key takes its material and stays disabled.
	other := ts.newExternalKey(t, "HMAC_256", "GENERATE_VERIFY_MAC")
	ts.importMaterial(t, other, crypto.WrapOAEPSHA256, bytes.Repeat([]byte{9}, 32), nil)
	ts.mustCall(t, "DisableKey", map[string]any{"KeyId": other})
	ts.importMaterial(t, other, crypto.WrapOAEPSHA1, bytes.Repeat([]byte{9}, 32), nil)
	if k, _ := ts.State.Key(other); k.KeyState != fsm.StateDisabled {
		t.Fatalf("re-import into a disabled key: %s", k.KeyState)
	}
}

// TestImportMemberPatterns: KeyMaterialId and KeyMaterialDescription follow
// the service model's patterns (ValidationException, nothing imported); a
// description the pattern allows is kept.
func TestImportMemberPatterns(t *testing.T) {
	ts := newTestService(t)
	id := ts.newExternalKey(t, "SYMMETRIC_DEFAULT", "")
	material := bytes.Repeat([]byte{7}, 32)
	for _, tc := range []struct{ field, value string }{
		{"KeyMaterialDescription", "<script>\"\n"},
		{"KeyMaterialDescription", "ünïcode"},
		{"KeyMaterialId", strings.Repeat("G", 64)},
		{"KeyMaterialId", strings.Repeat("A", 64)},
	} {
		in := ts.importRequest(t, id, material)
		in[tc.field] = tc.value
		patternRefused(t, ts, "ImportKeyMaterial", in)
	}
	patternRefused(t, ts, "DeleteImportedKeyMaterial", map[string]any{"KeyId": id, "KeyMaterialId": strings.Repeat("Z", 64)})
	md := ts.mustCall(t, "DescribeKey", map[string]any{"KeyId": id})["KeyMetadata"].(map[string]any)
	if md["KeyState"] != "PendingImport" {
		t.Fatalf("a refused import changed the key: %v", md["KeyState"])
	}
	in := ts.importRequest(t, id, material)
	in["KeyMaterialDescription"] = "hsm export 2026/12 batch_7 - primary"
	ts.mustCall(t, "ImportKeyMaterial", in)
}

func patternRefused(t *testing.T, ts *testService, op string, in map[string]any) {
	t.Helper()
	_, e := ts.call(t, op, in)
	if e == nil || e.Type != "ValidationException" || !strings.Contains(e.Message, "regular expression pattern") {
		t.Fatalf("%s: got %v, want a ValidationException naming the pattern", op, e)
	}
}
