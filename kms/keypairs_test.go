package kms

import (
	"bytes"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/x509"
	"strings"
	"testing"

	"github.com/keyraft/keyraft/crypto"
)

// TestGenerateDataKeyPair: for every spec the private key comes back in
// plaintext and encrypted under the symmetric key with the context; the
// encrypted one decrypts through Decrypt to the same PKCS#8, whose public
// half is the PublicKey answered.
func TestGenerateDataKeyPair(t *testing.T) {
	ts := newTestService(t)
	id, arn := ts.newKey(t)
	encCtx := map[string]string{"purpose": "pair"}
	for _, spec := range dataKeyPairSpecEnum {
		if spec == "SM2" {
			ts.refused(t, "GenerateDataKeyPair", map[string]any{"KeyId": id, "KeyPairSpec": spec}, "UnsupportedOperationException", "")
			continue
		}
		out := ts.mustCall(t, "GenerateDataKeyPair", map[string]any{"KeyId": id, "KeyPairSpec": spec, "EncryptionContext": encCtx})
		if out["KeyId"] != arn || out["KeyPairSpec"] != spec {
			t.Fatalf("%s: answered %v", spec, out)
		}
		priv := unb64(t, out["PrivateKeyPlaintext"])
		pub := unb64(t, out["PublicKey"])
		pk, err := crypto.ParsePrivateKey(priv)
		if err != nil || string(pk.Spec) != spec {
			t.Fatalf("%s: private key does not parse as its spec: %v", spec, err)
		}
		derived, err := pk.PublicKeyDER()
		if err != nil || !bytes.Equal(derived, pub) {
			t.Fatalf("%s: PublicKey is not the private key's", spec)
		}
		dec := ts.mustCall(t, "Decrypt", map[string]any{"CiphertextBlob": unb64(t, out["PrivateKeyCiphertextBlob"]), "EncryptionContext": encCtx})
		if !bytes.Equal(unb64(t, dec["Plaintext"]), priv) {
			t.Fatalf("%s: PrivateKeyCiphertextBlob does not decrypt to the private key", spec)
		}
		ts.refused(t, "Decrypt", map[string]any{"CiphertextBlob": unb64(t, out["PrivateKeyCiphertextBlob"])}, "InvalidCiphertextException", "")

		out = ts.mustCall(t, "GenerateDataKeyPairWithoutPlaintext", map[string]any{"KeyId": id, "KeyPairSpec": spec})
		if _, ok := out["PrivateKeyPlaintext"]; ok {
			t.Fatalf("%s: WithoutPlaintext answered the private key", spec)
		}
		dec = ts.mustCall(t, "Decrypt", map[string]any{"CiphertextBlob": unb64(t, out["PrivateKeyCiphertextBlob"])})
		pk, err = crypto.ParsePrivateKey(unb64(t, dec["Plaintext"]))
		if err != nil {
			t.Fatal(err)
		}
		if derived, _ := pk.PublicKeyDER(); !bytes.Equal(derived, unb64(t, out["PublicKey"])) {
			t.Fatalf("%s: WithoutPlaintext's PublicKey is not its private key's", spec)
		}
	}
}

func TestGenerateDataKeyPairRefusals(t *testing.T) {
	ts := newTestService(t)
	id, _ := ts.newKey(t)
	rsaID, _ := ts.newSpecKey(t, "RSA_2048", usageEncrypt)
	for _, op := range []string{"GenerateDataKeyPair", "GenerateDataKeyPairWithoutPlaintext"} {
		ts.refused(t, op, map[string]any{"KeyId": id}, "ValidationException", "1 validation error detected: Value at 'keyPairSpec' failed to satisfy constraint: Member must not be null")
		ts.refused(t, op, map[string]any{"KeyId": id, "KeyPairSpec": "RSA_1024"}, "ValidationException", "")
		ts.refused(t, op, map[string]any{"KeyId": rsaID, "KeyPairSpec": "RSA_2048"}, "InvalidKeyUsageException", "")
		ts.refused(t, op, map[string]any{"KeyId": missingKeyID, "KeyPairSpec": "RSA_2048"}, "NotFoundException", "")
		ts.refused(t, op, map[string]any{"KeyId": id, "KeyPairSpec": "ECC_NIST_P256", "Recipient": map[string]any{"AttestationDocument": "AA=="}}, "UnsupportedOperationException", "")
		ts.refused(t, op, map[string]any{"KeyId": id, "KeyPairSpec": "ECC_NIST_P256", "DryRun": true}, "DryRunOperationException", "")
	}
	ts.mustCall(t, "DisableKey", map[string]any{"KeyId": id})
	ts.refused(t, "GenerateDataKeyPair", map[string]any{"KeyId": id, "KeyPairSpec": "ECC_NIST_P256"}, "DisabledException", "")
}

// TestDeriveSharedSecret: the secret equals what crypto/ecdh derives on
// the peer's side from GetPublicKey's key, for each NIST curve; invalid,
// off-curve and other-curve peer keys are refused.
func TestDeriveSharedSecret(t *testing.T) {
	ts := newTestService(t)
	curves := map[string]ecdh.Curve{"ECC_NIST_P256": ecdh.P256(), "ECC_NIST_P384": ecdh.P384(), "ECC_NIST_P521": ecdh.P521()}
	other := map[string]string{"ECC_NIST_P256": "ECC_NIST_P384", "ECC_NIST_P384": "ECC_NIST_P521", "ECC_NIST_P521": "ECC_NIST_P256"}
	peers := map[string][]byte{}
	for spec, curve := range curves {
		peer, err := curve.GenerateKey(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		if peers[spec], err = x509.MarshalPKIXPublicKey(peer.PublicKey()); err != nil {
			t.Fatal(err)
		}
		id, md := ts.newSpecKey(t, spec, usageAgreement)
		if got := strs(md["KeyAgreementAlgorithms"]); len(got) != 1 || got[0] != "ECDH" {
			t.Fatalf("%s: KeyAgreementAlgorithms %v", spec, got)
		}
		out := ts.mustCall(t, "DeriveSharedSecret", map[string]any{"KeyId": id, "KeyAgreementAlgorithm": "ECDH", "PublicKey": peers[spec]})
		pubAny, err := x509.ParsePKIXPublicKey(unb64(t, ts.mustCall(t, "GetPublicKey", map[string]any{"KeyId": id})["PublicKey"]))
		if err != nil {
			t.Fatal(err)
		}
		kmsPub, err := pubAny.(*ecdsa.PublicKey).ECDH()
		if err != nil {
			t.Fatal(err)
		}
		want, err := peer.ECDH(kmsPub)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(unb64(t, out["SharedSecret"]), want) || out["KeyAgreementAlgorithm"] != "ECDH" || out["KeyOrigin"] != "AWS_KMS" || out["KeyId"] != md["Arn"] {
			t.Fatalf("%s: answered %v", spec, out)
		}
	}
	id, _ := ts.newSpecKey(t, "ECC_NIST_P256", usageAgreement)
	call := func(pub []byte) map[string]any {
		return map[string]any{"KeyId": id, "KeyAgreementAlgorithm": "ECDH", "PublicKey": pub}
	}
	ts.refused(t, "DeriveSharedSecret", call(peers[other["ECC_NIST_P256"]]), "ValidationException", "The public key's curve does not match the KMS key's key spec ECC_NIST_P256.")
	// A point off the curve: a valid P-256 SPKI with y changed.
	offCurve := bytes.Clone(peers["ECC_NIST_P256"])
	offCurve[len(offCurve)-1] ^= 1
	ts.refused(t, "DeriveSharedSecret", call(offCurve), "ValidationException", "")
	ts.refused(t, "DeriveSharedSecret", call([]byte("not DER")), "ValidationException", "")
	ts.refused(t, "DeriveSharedSecret", call(append(bytes.Clone(peers["ECC_NIST_P256"]), 0)), "ValidationException", "")
	ts.refused(t, "DeriveSharedSecret", map[string]any{"KeyId": id, "PublicKey": peers["ECC_NIST_P256"]}, "ValidationException", "")
	ts.refused(t, "DeriveSharedSecret", map[string]any{"KeyId": id, "KeyAgreementAlgorithm": "ECDHE", "PublicKey": peers["ECC_NIST_P256"]}, "ValidationException", "")
	ts.refused(t, "DeriveSharedSecret", map[string]any{"KeyId": id, "KeyAgreementAlgorithm": "ECDH"}, "ValidationException", "")
	ts.refused(t, "DeriveSharedSecret", map[string]any{"KeyId": id, "KeyAgreementAlgorithm": "ECDH", "PublicKey": peers["ECC_NIST_P256"], "Recipient": map[string]any{}}, "UnsupportedOperationException", "")
	ts.refused(t, "DeriveSharedSecret", map[string]any{"KeyId": id, "KeyAgreementAlgorithm": "ECDH", "PublicKey": peers["ECC_NIST_P256"], "DryRun": true}, "DryRunOperationException", "")
	// Keys of other usages.
	signID, _ := ts.newSpecKey(t, "ECC_NIST_P256", usageSign)
	symID, _ := ts.newKey(t)
	for _, k := range []string{signID, symID} {
		ts.refused(t, "DeriveSharedSecret", map[string]any{"KeyId": k, "KeyAgreementAlgorithm": "ECDH", "PublicKey": peers["ECC_NIST_P256"]}, "InvalidKeyUsageException", "")
	}
	ts.mustCall(t, "DisableKey", map[string]any{"KeyId": id})
	ts.refused(t, "DeriveSharedSecret", call(peers["ECC_NIST_P256"]), "DisabledException", "")
}

// TestAsymEncGrantsAndPolicy: grants allow exactly the new operations on
// the key types AWS allows them for; a caller with no grant and no policy
// is AccessDeniedException naming the operation's action.
func TestAsymEncGrantsAndPolicy(t *testing.T) {
	ts := newTestService(t)
	sym, _ := ts.newKey(t)
	rsaID, _ := ts.newSpecKey(t, "RSA_2048", usageEncrypt)
	ecdhID, _ := ts.newSpecKey(t, "ECC_NIST_P256", usageAgreement)
	u := testUser("asym")
	peer := unb64(t, any(fuzzPeerKey))
	derive := map[string]any{"KeyId": ecdhID, "KeyAgreementAlgorithm": "ECDH", "PublicKey": peer}
	pair := map[string]any{"KeyId": sym, "KeyPairSpec": "ECC_NIST_P256"}
	enc := map[string]any{"KeyId": rsaID, "Plaintext": []byte("x"), "EncryptionAlgorithm": "RSAES_OAEP_SHA_256"}
	for op, in := range map[string]map[string]any{"DeriveSharedSecret": derive, "GenerateDataKeyPair": pair, "GenerateDataKeyPairWithoutPlaintext": pair, "Encrypt": enc} {
		if _, e := ts.callAs(t, u, op, in); e == nil || e.Type != "AccessDeniedException" || !strings.Contains(e.Message, "kms:"+op) {
			t.Fatalf("%s without a grant: %v", op, e)
		}
	}
	ts.grant(t, ecdhID, u, []string{"DeriveSharedSecret"}, nil)
	ts.grant(t, sym, u, []string{"GenerateDataKeyPair"}, nil)
	ts.grant(t, rsaID, u, []string{"Encrypt", "Decrypt"}, nil)
	if _, e := ts.callAs(t, u, "DeriveSharedSecret", derive); e != nil {
		t.Fatalf("DeriveSharedSecret with a grant: %v", e)
	}
	if _, e := ts.callAs(t, u, "GenerateDataKeyPair", pair); e != nil {
		t.Fatalf("GenerateDataKeyPair with a grant: %v", e)
	}
	// The grant names GenerateDataKeyPair only.
	if _, e := ts.callAs(t, u, "GenerateDataKeyPairWithoutPlaintext", pair); e == nil || e.Type != "AccessDeniedException" {
		t.Fatalf("GenerateDataKeyPairWithoutPlaintext under another operation's grant: %v", e)
	}
	out, e := ts.callAs(t, u, "Encrypt", enc)
	if e != nil {
		t.Fatalf("Encrypt with a grant: %v", e)
	}
	if _, e := ts.callAs(t, u, "Decrypt", map[string]any{"KeyId": rsaID, "CiphertextBlob": unb64(t, out["CiphertextBlob"]), "EncryptionAlgorithm": "RSAES_OAEP_SHA_256"}); e != nil {
		t.Fatalf("Decrypt with a grant: %v", e)
	}
	// Operations the key type cannot perform cannot be granted.
	for _, g := range []struct{ id, op string }{{ecdhID, "Decrypt"}, {ecdhID, "Sign"}, {rsaID, "DeriveSharedSecret"}, {rsaID, "GenerateDataKeyPair"}, {sym, "DeriveSharedSecret"}} {
		ts.refused(t, "CreateGrant", map[string]any{"KeyId": g.id, "GranteePrincipal": u.PrincipalARN, "Operations": []string{g.op}}, "ValidationException", "")
	}
}
