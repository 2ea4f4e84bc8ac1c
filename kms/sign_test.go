package kms

import (
	stdcrypto "crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha512"
	"crypto/x509"
	"encoding/base64"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/keyraft/keyraft/crypto"
	"github.com/keyraft/keyraft/internal/awserr"
)

func unb64(tb testing.TB, v any) []byte {
	tb.Helper()
	s, _ := v.(string)
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(b) == 0 {
		tb.Fatalf("not base64 bytes: %v", v)
	}
	return b
}

func (ts *testService) newSpecKey(tb testing.TB, spec, usage string) (string, map[string]any) {
	tb.Helper()
	md := ts.mustCall(tb, "CreateKey", map[string]any{"KeySpec": spec, "KeyUsage": usage})["KeyMetadata"].(map[string]any)
	return md["KeyId"].(string), md
}

func strs(v any) []string {
	var out []string
	for _, x := range v.([]any) {
		out = append(out, x.(string))
	}
	return out
}

// verifyLocally checks a signature made through the API with the standard
// library and the public key GetPublicKey gave, as a client offline would.
func verifyLocally(tb testing.TB, spki []byte, algName string, msg, sig []byte) {
	tb.Helper()
	pub, err := x509.ParsePKIXPublicKey(spki)
	if err != nil {
		tb.Fatalf("GetPublicKey's DER does not parse: %v", err)
	}
	alg := signingAlgByName[algName]
	h := func() []byte { hh := alg.Hash.New(); hh.Write(msg); return hh.Sum(nil) }
	ok := false
	switch p := pub.(type) {
	case *rsa.PublicKey:
		if alg.Scheme == crypto.SchemePSS {
			ok = rsa.VerifyPSS(p, alg.Hash, h(), sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash}) == nil
		} else {
			ok = rsa.VerifyPKCS1v15(p, alg.Hash, h(), sig) == nil
		}
	case *ecdsa.PublicKey:
		ok = ecdsa.VerifyASN1(p, h(), sig)
	case ed25519.PublicKey:
		if alg.Scheme == crypto.SchemeEd25519 {
			ok = ed25519.Verify(p, msg, sig)
		} else {
			// ED25519_PH_SHA_512 signs the caller's digest as Ed25519ph's message.
			d := sha512.Sum512(msg)
			dd := sha512.Sum512(d[:])
			ok = ed25519.VerifyWithOptions(p, dd[:], sig, &ed25519.Options{Hash: stdcrypto.SHA512}) == nil
		}
	}
	if !ok {
		tb.Fatalf("%s signature does not verify with the standard library", algName)
	}
}

func TestSignVerifyEverySpec(t *testing.T) {
	ts := newTestService(t)
	msg := []byte("the message keyraft signs")
	for _, spec := range []string{"RSA_2048", "RSA_3072", "ECC_NIST_P256", "ECC_NIST_P384", "ECC_NIST_P521", "ECC_SECG_P256K1", "ECC_NIST_EDWARDS25519"} {
		id, md := ts.newSpecKey(t, spec, "SIGN_VERIFY")
		want := keySpecs[spec].algorithms[usageSign]
		if !slices.Equal(strs(md["SigningAlgorithms"]), want) || md["EncryptionAlgorithms"] != nil || md["KeyUsage"] != "SIGN_VERIFY" || md["KeySpec"] != spec {
			t.Fatalf("%s metadata: %v", spec, md)
		}
		pk := ts.mustCall(t, "GetPublicKey", map[string]any{"KeyId": id})
		if !slices.Equal(strs(pk["SigningAlgorithms"]), want) || pk["KeyUsage"] != "SIGN_VERIFY" || pk["KeySpec"] != spec || pk["EncryptionAlgorithms"] != nil {
			t.Fatalf("%s GetPublicKey: %v", spec, pk)
		}
		spki := unb64(t, pk["PublicKey"])
		for _, alg := range want {
			a := signingAlgByName[alg]
			for _, mt := range []string{"RAW", "DIGEST"} {
				if (a.Scheme == crypto.SchemeEd25519 && mt == "DIGEST") || (a.Scheme == crypto.SchemeEd25519ph && mt == "RAW") {
					ts.refused(t, "Sign", map[string]any{"KeyId": id, "Message": msg, "SigningAlgorithm": alg, "MessageType": mt}, "ValidationException", "")
					continue
				}
				in := msg
				if mt == "DIGEST" {
					hh := a.Hash.New()
					hh.Write(msg)
					in = hh.Sum(nil)
				}
				out := ts.mustCall(t, "Sign", map[string]any{"KeyId": id, "Message": in, "SigningAlgorithm": alg, "MessageType": mt})
				if out["SigningAlgorithm"] != alg || out["KeyId"] != ts.arn(id) {
					t.Fatalf("%s %s: %v", spec, alg, out)
				}
				sig := unb64(t, out["Signature"])
				if spec != "ECC_SECG_P256K1" { // x509 knows no secp256k1: checked in crypto's tests and e2e with openssl
					verifyLocally(t, spki, alg, msg, sig)
				}
				v := ts.mustCall(t, "Verify", map[string]any{"KeyId": id, "Message": in, "SigningAlgorithm": alg, "MessageType": mt, "Signature": sig})
				if v["SignatureValid"] != true {
					t.Fatalf("%s %s Verify: %v", spec, alg, v)
				}
				bad := slices.Clone(sig)
				bad[len(bad)/2] ^= 1
				ts.refused(t, "Verify", map[string]any{"KeyId": id, "Message": in, "SigningAlgorithm": alg, "MessageType": mt, "Signature": bad}, "KMSInvalidSignatureException", "")
				other := slices.Clone(in)
				other[0] ^= 1
				ts.refused(t, "Verify", map[string]any{"KeyId": id, "Message": other, "SigningAlgorithm": alg, "MessageType": mt, "Signature": sig}, "KMSInvalidSignatureException", "")
			}
		}
	}
}

func TestSigningErrors(t *testing.T) {
	ts := newTestService(t)
	ec, _ := ts.newSpecKey(t, "ECC_NIST_P256", "SIGN_VERIFY")
	sym, _ := ts.newKey(t)
	mac, _ := ts.newSpecKey(t, "HMAC_256", "GENERATE_VERIFY_MAC")
	rsaEnc, _ := ts.newSpecKey(t, "RSA_2048", "ENCRYPT_DECRYPT")
	msg := []byte("m")
	for _, tc := range []struct {
		op       string
		in       map[string]any
		typ, msg string
	}{
		{"Sign", map[string]any{"KeyId": ec, "Message": msg}, "ValidationException", "1 validation error detected: Value at 'signingAlgorithm' failed to satisfy constraint: Member must not be null"},
		{"Sign", map[string]any{"KeyId": ec, "SigningAlgorithm": "ECDSA_SHA_256"}, "ValidationException", "1 validation error detected: Value at 'message' failed to satisfy constraint: Member must have length greater than or equal to 1"},
		{"Sign", map[string]any{"KeyId": ec, "Message": make([]byte, 4097), "SigningAlgorithm": "ECDSA_SHA_256"}, "ValidationException", ""},
		{"Sign", map[string]any{"KeyId": ec, "Message": msg, "SigningAlgorithm": "ECDSA_SHA_1"}, "ValidationException", ""},
		{"Sign", map[string]any{"KeyId": ec, "Message": msg, "SigningAlgorithm": "ECDSA_SHA_256", "MessageType": "HASHED"}, "ValidationException", ""},
		{"Sign", map[string]any{"KeyId": ec, "Message": msg, "SigningAlgorithm": "ECDSA_SHA_384"}, "InvalidKeyUsageException", "Algorithm ECDSA_SHA_384 is incompatible with key spec ECC_NIST_P256."},
		{"Sign", map[string]any{"KeyId": ec, "Message": msg, "SigningAlgorithm": "RSASSA_PSS_SHA_256"}, "InvalidKeyUsageException", ""},
		{"Sign", map[string]any{"KeyId": ec, "Message": msg, "SigningAlgorithm": "ECDSA_SHA_256", "MessageType": "DIGEST"}, "ValidationException", "Digest is invalid length for algorithm ECDSA_SHA_256."},
		{"Sign", map[string]any{"KeyId": ec, "Message": msg, "SigningAlgorithm": "ECDSA_SHA_256", "MessageType": "EXTERNAL_MU"}, "ValidationException", ""},
		{"Sign", map[string]any{"KeyId": sym, "Message": msg, "SigningAlgorithm": "ECDSA_SHA_256"}, "InvalidKeyUsageException", ts.arn(sym) + " key usage is ENCRYPT_DECRYPT which is not valid for Sign."},
		{"Sign", map[string]any{"KeyId": mac, "Message": msg, "SigningAlgorithm": "ECDSA_SHA_256"}, "InvalidKeyUsageException", ""},
		{"Sign", map[string]any{"KeyId": missingKeyID, "Message": msg, "SigningAlgorithm": "ECDSA_SHA_256"}, "NotFoundException", ""},
		{"Sign", map[string]any{"KeyId": ec, "Message": msg, "SigningAlgorithm": "ECDSA_SHA_256", "DryRun": true}, "DryRunOperationException", ""},
		{"Verify", map[string]any{"KeyId": ec, "Message": msg, "SigningAlgorithm": "ECDSA_SHA_256"}, "ValidationException", "1 validation error detected: Value at 'signature' failed to satisfy constraint: Member must have length greater than or equal to 1"},
		{"Verify", map[string]any{"KeyId": ec, "Message": msg, "SigningAlgorithm": "ECDSA_SHA_256", "Signature": []byte{0x30, 0x00}}, "KMSInvalidSignatureException", ""},
		{"GetPublicKey", map[string]any{"KeyId": sym}, "UnsupportedOperationException", ""},
		{"GetPublicKey", map[string]any{"KeyId": mac}, "UnsupportedOperationException", ""},
		{"Encrypt", map[string]any{"KeyId": ec, "Plaintext": msg}, "InvalidKeyUsageException", ts.arn(ec) + " key usage is SIGN_VERIFY which is not valid for Encrypt."},
		{"GenerateDataKey", map[string]any{"KeyId": mac, "KeySpec": "AES_256"}, "InvalidKeyUsageException", ""},
		{"Encrypt", map[string]any{"KeyId": rsaEnc, "Plaintext": msg}, "InvalidKeyUsageException", "Algorithm SYMMETRIC_DEFAULT is incompatible with key spec RSA_2048."},
		{"GenerateDataKey", map[string]any{"KeyId": rsaEnc, "KeySpec": "AES_256"}, "InvalidKeyUsageException", ""},
		{"ReEncrypt", map[string]any{"CiphertextBlob": []byte("x"), "DestinationKeyId": rsaEnc}, "InvalidCiphertextException", ""},
		{"EnableKeyRotation", map[string]any{"KeyId": ec}, "UnsupportedOperationException", ""},
		{"RotateKeyOnDemand", map[string]any{"KeyId": mac}, "UnsupportedOperationException", "You cannot perform this operation on a non-symmetric key or a key with non-ENCRYPT_DECRYPT key usage."},
		{"DisableKeyRotation", map[string]any{"KeyId": ec}, "UnsupportedOperationException", ""},
	} {
		ts.refused(t, tc.op, tc.in, tc.typ, tc.msg)
	}
	// Reading a signing key's rotation status is not an error: it is false.
	if st := ts.mustCall(t, "GetKeyRotationStatus", map[string]any{"KeyId": ec}); st["KeyRotationEnabled"] != false {
		t.Fatalf("GetKeyRotationStatus of a signing key: %v", st)
	}
	// A disabled key neither signs nor gives its public key.
	ts.mustCall(t, "DisableKey", map[string]any{"KeyId": ec})
	ts.refused(t, "Sign", map[string]any{"KeyId": ec, "Message": msg, "SigningAlgorithm": "ECDSA_SHA_256"}, "DisabledException", "")
	ts.refused(t, "GetPublicKey", map[string]any{"KeyId": ec}, "DisabledException", "")
}

func TestCreateKeySpecsAndUsages(t *testing.T) {
	ts := newTestService(t)
	for _, tc := range []struct {
		in       map[string]any
		typ, msg string
	}{
		{map[string]any{"KeySpec": "HMAC_256"}, "ValidationException", "KeyUsage ENCRYPT_DECRYPT is not compatible with KeySpec HMAC_256"},
		{map[string]any{"KeySpec": "ECC_NIST_P256", "KeyUsage": "ENCRYPT_DECRYPT"}, "ValidationException", ""},
		{map[string]any{"KeySpec": "ECC_SECG_P256K1", "KeyUsage": "KEY_AGREEMENT"}, "ValidationException", ""},
		{map[string]any{"KeySpec": "ECC_NIST_EDWARDS25519", "KeyUsage": "KEY_AGREEMENT"}, "ValidationException", ""},
		{map[string]any{"KeySpec": "RSA_2048", "KeyUsage": "GENERATE_VERIFY_MAC"}, "ValidationException", ""},
		{map[string]any{"KeyUsage": "SIGN_VERIFY"}, "ValidationException", "KeyUsage SIGN_VERIFY is not compatible with KeySpec SYMMETRIC_DEFAULT"},
		{map[string]any{"KeySpec": "RSA_1024", "KeyUsage": "SIGN_VERIFY"}, "ValidationException", ""},
		{map[string]any{"KeySpec": "RSA_2048", "CustomerMasterKeySpec": "RSA_2048", "KeyUsage": "SIGN_VERIFY"}, "ValidationException", ""},
		{map[string]any{"CustomerMasterKeySpec": "ECC_NIST_EDWARDS25519", "KeyUsage": "SIGN_VERIFY"}, "ValidationException", ""},
		{map[string]any{"KeySpec": "ML_DSA_65", "KeyUsage": "ENCAPSULATE_DECAPSULATE"}, "ValidationException", "KeyUsage ENCAPSULATE_DECAPSULATE is not compatible with KeySpec ML_DSA_65"},
		{map[string]any{"KeySpec": "ML_KEM_768"}, "ValidationException", "KeyUsage ENCRYPT_DECRYPT is not compatible with KeySpec ML_KEM_768"},
		{map[string]any{"KeySpec": "ML_KEM_768", "KeyUsage": "SIGN_VERIFY"}, "ValidationException", ""},
		{map[string]any{"KeySpec": "SM2", "KeyUsage": "SIGN_VERIFY"}, "UnsupportedOperationException", ""},
	} {
		ts.refused(t, "CreateKey", tc.in, tc.typ, tc.msg)
	}
	for _, tc := range []struct {
		in           map[string]any
		spec, field  string
		algs         []string
		cmkSpecShown bool
	}{
		{map[string]any{"CustomerMasterKeySpec": "ECC_NIST_P384", "KeyUsage": "SIGN_VERIFY"}, "ECC_NIST_P384", "SigningAlgorithms", []string{"ECDSA_SHA_384"}, true},
		{map[string]any{"KeySpec": "ECC_NIST_P256", "KeyUsage": "KEY_AGREEMENT"}, "ECC_NIST_P256", "KeyAgreementAlgorithms", []string{"ECDH"}, true},
		{map[string]any{"KeySpec": "RSA_2048", "KeyUsage": "ENCRYPT_DECRYPT"}, "RSA_2048", "EncryptionAlgorithms", []string{"RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"}, true},
		{map[string]any{"KeySpec": "HMAC_384", "KeyUsage": "GENERATE_VERIFY_MAC"}, "HMAC_384", "MacAlgorithms", []string{"HMAC_SHA_384"}, true},
		{map[string]any{"KeySpec": "ECC_NIST_EDWARDS25519", "KeyUsage": "SIGN_VERIFY"}, "ECC_NIST_EDWARDS25519", "SigningAlgorithms", []string{"ED25519_SHA_512", "ED25519_PH_SHA_512"}, false},
		{map[string]any{"KeySpec": "SYMMETRIC_DEFAULT", "KeyUsage": "ENCRYPT_DECRYPT"}, "SYMMETRIC_DEFAULT", "EncryptionAlgorithms", []string{"SYMMETRIC_DEFAULT"}, true},
	} {
		md := ts.mustCall(t, "CreateKey", tc.in)["KeyMetadata"].(map[string]any)
		if md["KeySpec"] != tc.spec || !slices.Equal(strs(md[tc.field]), tc.algs) || (md["CustomerMasterKeySpec"] != nil) != tc.cmkSpecShown {
			t.Fatalf("CreateKey %v: %v", tc.in, md)
		}
		for _, f := range []string{"EncryptionAlgorithms", "SigningAlgorithms", "MacAlgorithms", "KeyAgreementAlgorithms"} {
			if f != tc.field && md[f] != nil {
				t.Fatalf("CreateKey %v shows %s: %v", tc.in, f, md)
			}
		}
		d := ts.mustCall(t, "DescribeKey", map[string]any{"KeyId": md["KeyId"]})["KeyMetadata"].(map[string]any)
		if !slices.Equal(strs(d[tc.field]), tc.algs) || d["KeyUsage"] != md["KeyUsage"] {
			t.Fatalf("DescribeKey %v: %v", tc.in, d)
		}
	}
}

// TestMaterialIsSealed checks that what CreateKey replicates is sealed: no
// asymmetric or HMAC key's material appears in the FSM's snapshot.
func TestMaterialIsSealed(t *testing.T) {
	ts := newTestService(t)
	ec, _ := ts.newSpecKey(t, "ECC_NIST_P256", "SIGN_VERIFY")
	hm, _ := ts.newSpecKey(t, "HMAC_256", "GENERATE_VERIFY_MAC")
	snap := ts.snapshot(t)
	for _, id := range []string{ec, hm} {
		k, _ := ts.State.Key(id)
		if e := ts.withMaterial(k, 1, func(m []byte) *awserr.Error {
			if strings.Contains(string(snap), string(m)) || len(m) < 32 {
				t.Fatalf("material of %s in the snapshot, or too short (%d bytes)", k.KeySpec, len(m))
			}
			return nil
		}); e != nil {
			t.Fatal(e)
		}
	}
}

// TestSigningAuthorization: Sign, Verify, GetPublicKey and the MAC
// operations are decided by policy and grants as every operation is, and a
// grant's operations must fit its key's type.
func TestSigningAuthorization(t *testing.T) {
	ts := newTestService(t)
	ec, _ := ts.newSpecKey(t, "ECC_NIST_P256", "SIGN_VERIFY")
	hm, _ := ts.newSpecKey(t, "HMAC_256", "GENERATE_VERIFY_MAC")
	sym, _ := ts.newKey(t)
	bob := testUser("bob")
	sign := map[string]any{"KeyId": ec, "Message": []byte("m"), "SigningAlgorithm": "ECDSA_SHA_256"}
	mac := map[string]any{"KeyId": hm, "Message": []byte("m"), "MacAlgorithm": "HMAC_SHA_256"}
	for op, in := range map[string]map[string]any{"Sign": sign, "GetPublicKey": {"KeyId": ec}, "GenerateMac": mac} {
		if _, e := ts.callAs(t, bob, op, in); e == nil || e.Type != "AccessDeniedException" || !strings.Contains(e.Message, "kms:"+op) {
			t.Fatalf("%s without a grant: %v", op, e)
		}
	}
	ts.grant(t, ec, bob, []string{"Sign", "GetPublicKey"}, nil)
	ts.grant(t, hm, bob, []string{"GenerateMac"}, nil)
	out, e := ts.callAs(t, bob, "Sign", sign)
	if e != nil {
		t.Fatal(e)
	}
	if _, e := ts.callAs(t, bob, "GetPublicKey", map[string]any{"KeyId": ec}); e != nil {
		t.Fatal(e)
	}
	if _, e := ts.callAs(t, bob, "GenerateMac", mac); e != nil {
		t.Fatal(e)
	}
	// The grant gave Sign, not Verify.
	if _, e := ts.callAs(t, bob, "Verify", map[string]any{"KeyId": ec, "Message": []byte("m"), "SigningAlgorithm": "ECDSA_SHA_256", "Signature": out["Signature"]}); e == nil || e.Type != "AccessDeniedException" {
		t.Fatalf("Verify with a grant for Sign only: %v", e)
	}
	for _, tc := range []struct {
		key string
		ops []string
	}{{ec, []string{"Encrypt"}}, {ec, []string{"GenerateMac"}}, {hm, []string{"Sign"}}, {sym, []string{"Sign"}}, {sym, []string{"GetPublicKey"}}, {hm, []string{"GetPublicKey"}}} {
		ts.refused(t, "CreateGrant", map[string]any{"KeyId": tc.key, "GranteePrincipal": bob.PrincipalARN, "Operations": tc.ops}, "ValidationException", "")
	}
}

// TestSigningKeyCacheDropsOnSeal: a parsed private key is cached after its
// first use and dropped with the material on seal; a sealed service signs
// nothing, and signs again once unsealed.
func TestSigningKeyCacheDropsOnSeal(t *testing.T) {
	ts := newTestService(t)
	ed, _ := ts.newSpecKey(t, "ECC_NIST_EDWARDS25519", "SIGN_VERIFY")
	sign := map[string]any{"KeyId": ed, "Message": []byte("m"), "SigningAlgorithm": "ED25519_SHA_512"}
	first := ts.mustCall(t, "Sign", sign)
	ts.cacheMu.RLock()
	sk := ts.signers[materialPath(ed, 1)]
	ts.cacheMu.RUnlock()
	if sk == nil {
		t.Fatal("the parsed key is not cached")
	}
	if again := ts.mustCall(t, "Sign", sign); again["Signature"] != first["Signature"] {
		t.Fatal("Ed25519 signatures of one message differ: another key was used")
	}
	ts.sealed.Store(true)
	ts.DropSecrets()
	if len(ts.signers) != 0 || len(ts.material) != 0 {
		t.Fatal("secrets cached after DropSecrets")
	}
	if _, e := ts.call(t, "Sign", sign); e == nil || e.Status != 503 {
		t.Fatalf("a sealed service signs: %v", e)
	}
	ts.sealed.Store(false)
	if again := ts.mustCall(t, "Sign", sign); again["Signature"] != first["Signature"] {
		t.Fatal("the key signs differently after a seal")
	}
}

// TestSignRacingSeal: signatures made while the service seals and unseals
// over and over are either refused as unavailable or verify: a seal never
// makes the service sign with a zeroed key.
func TestSignRacingSeal(t *testing.T) {
	ts := newTestService(t)
	ed, _ := ts.newSpecKey(t, "ECC_NIST_EDWARDS25519", "SIGN_VERIFY")
	pub := unb64(t, ts.mustCall(t, "GetPublicKey", map[string]any{"KeyId": ed})["PublicKey"])
	sign := map[string]any{"KeyId": ed, "Message": []byte("racing"), "SigningAlgorithm": "ED25519_SHA_512"}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var mu sync.Mutex
	var sigs [][]byte
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				out, e := ts.call(t, "Sign", sign)
				if e != nil {
					if e.Type != "ServiceUnavailableException" {
						t.Errorf("sign during seal: %v", e)
					}
					continue
				}
				mu.Lock()
				sigs = append(sigs, unb64(t, out["Signature"]))
				mu.Unlock()
			}
		})
	}
	for seals := 0; seals < 300; seals++ {
		ts.sealed.Store(true)
		ts.DropSecrets()
		ts.sealed.Store(false)
		runtime.Gosched()
	}
	close(stop)
	wg.Wait()
	if len(sigs) == 0 {
		t.Fatal("no signature succeeded")
	}
	for _, sig := range sigs {
		verifyLocally(t, pub, "ED25519_SHA_512", []byte("racing"), sig)
	}
	t.Logf("%d signatures made across 300 seals all verify", len(sigs))
}
