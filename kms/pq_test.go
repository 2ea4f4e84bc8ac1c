package kms

import (
	"bytes"
	"crypto/mlkem"
	"crypto/sha3"
	"slices"
	"testing"

	"github.com/cloudflare/circl/sign/mldsa/mldsa44"
	"github.com/cloudflare/circl/sign/mldsa/mldsa65"
	"github.com/cloudflare/circl/sign/mldsa/mldsa87"
	"github.com/keyraft/keyraft/crypto"
)

// TestMLDSASignVerify signs through the API with every ML-DSA set and
// checks the signature with circl from GetPublicKey's SPKI, as a client
// offline would; a changed message or signature is refused.
func TestMLDSASignVerify(t *testing.T) {
	ts := newTestService(t)
	msg := []byte("post-quantum hello")
	for _, tc := range []struct {
		spec   string
		verify func(pub, msg, sig []byte) bool
	}{
		{"ML_DSA_44", func(pub, msg, sig []byte) bool {
			var pk mldsa44.PublicKey
			return pk.UnmarshalBinary(pub) == nil && mldsa44.Verify(&pk, msg, nil, sig)
		}},
		{"ML_DSA_65", func(pub, msg, sig []byte) bool {
			var pk mldsa65.PublicKey
			return pk.UnmarshalBinary(pub) == nil && mldsa65.Verify(&pk, msg, nil, sig)
		}},
		{"ML_DSA_87", func(pub, msg, sig []byte) bool {
			var pk mldsa87.PublicKey
			return pk.UnmarshalBinary(pub) == nil && mldsa87.Verify(&pk, msg, nil, sig)
		}},
	} {
		t.Run(tc.spec, func(t *testing.T) {
			id, md := ts.newSpecKey(t, tc.spec, "SIGN_VERIFY")
			if got := strs(md["SigningAlgorithms"]); !slices.Equal(got, []string{"ML_DSA_SHAKE_256"}) {
				t.Fatalf("SigningAlgorithms %v", got)
			}
			gp := ts.mustCall(t, "GetPublicKey", map[string]any{"KeyId": id})
			if gp["KeySpec"] != tc.spec || gp["KeyUsage"] != "SIGN_VERIFY" || gp["CustomerMasterKeySpec"] != nil {
				t.Fatalf("GetPublicKey %v", gp)
			}
			pub, err := crypto.ParsePublicKey(unb64(t, gp["PublicKey"]))
			if err != nil || string(pub.Spec) != tc.spec {
				t.Fatalf("SPKI: %v %v", pub, err)
			}
			raw := pub.Key.([]byte)
			out := ts.mustCall(t, "Sign", map[string]any{"KeyId": id, "Message": msg, "SigningAlgorithm": "ML_DSA_SHAKE_256"})
			sig := unb64(t, out["Signature"])
			if len(sig) != crypto.MLDSASignatureSize(crypto.KeySpec(tc.spec)) || !tc.verify(raw, msg, sig) {
				t.Fatal("signature does not verify with circl")
			}
			if tc.verify(raw, []byte("other"), sig) {
				t.Fatal("signature verifies another message")
			}
			// EXTERNAL_MU: μ computed here from the public key alone;
			// the signature is a RAW one over msg, for circl and the API.
			tr := sha3.SumSHAKE256(raw, 64)
			mu := sha3.SumSHAKE256(append(append(tr[:], 0, 0), msg...), 64)
			out = ts.mustCall(t, "Sign", map[string]any{"KeyId": id, "Message": mu[:], "MessageType": "EXTERNAL_MU", "SigningAlgorithm": "ML_DSA_SHAKE_256"})
			muSig := unb64(t, out["Signature"])
			if out["SigningAlgorithm"] != "ML_DSA_SHAKE_256" || !tc.verify(raw, msg, muSig) {
				t.Fatal("signature over μ does not verify over its message with circl")
			}
			if v := ts.mustCall(t, "Verify", map[string]any{"KeyId": id, "Message": msg, "Signature": muSig,
				"SigningAlgorithm": "ML_DSA_SHAKE_256", "MessageType": "RAW"}); v["SignatureValid"] != true {
				t.Fatalf("Verify RAW of a signature over μ: %v", v)
			}
			ts.refused(t, "Verify", map[string]any{"KeyId": id, "Message": []byte("other"), "Signature": muSig, "SigningAlgorithm": "ML_DSA_SHAKE_256"}, "KMSInvalidSignatureException", "")
			v := ts.mustCall(t, "Verify", map[string]any{"KeyId": id, "Message": msg, "Signature": sig,
				"SigningAlgorithm": "ML_DSA_SHAKE_256", "MessageType": "RAW"})
			if v["SignatureValid"] != true {
				t.Fatalf("Verify %v", v)
			}
			bad := bytes.Clone(sig)
			bad[10] ^= 1
			ts.refused(t, "Verify", map[string]any{"KeyId": id, "Message": msg, "Signature": bad, "SigningAlgorithm": "ML_DSA_SHAKE_256"}, "KMSInvalidSignatureException", "")
			ts.refused(t, "Verify", map[string]any{"KeyId": id, "Message": msg, "Signature": sig[:100], "SigningAlgorithm": "ML_DSA_SHAKE_256"}, "KMSInvalidSignatureException", "")
		})
	}
}

func TestMLDSAMessageTypes(t *testing.T) {
	ts := newTestService(t)
	id, _ := ts.newSpecKey(t, "ML_DSA_65", "SIGN_VERIFY")
	mu := bytes.Repeat([]byte{7}, 64)
	sign := func(msg []byte, mt string) map[string]any {
		return map[string]any{"KeyId": id, "Message": msg, "MessageType": mt, "SigningAlgorithm": "ML_DSA_SHAKE_256"}
	}
	ts.refused(t, "Sign", sign(bytes.Repeat([]byte{1}, 32), "DIGEST"), "ValidationException", "The ML_DSA_SHAKE_256 signing algorithm requires MessageType RAW or EXTERNAL_MU.")
	ts.refused(t, "Sign", sign(mu[:63], "EXTERNAL_MU"), "ValidationException", "Digest is invalid length for algorithm ML_DSA_SHAKE_256.")
	// Any 64 bytes sign as a μ; verifying a μ is not offered.
	if out := ts.mustCall(t, "Sign", sign(mu, "EXTERNAL_MU")); len(unb64(t, out["Signature"])) != crypto.MLDSASignatureSize(crypto.SpecMLDSA65) {
		t.Fatalf("Sign EXTERNAL_MU %v", out)
	}
	vr := sign(mu, "EXTERNAL_MU")
	vr["Signature"] = bytes.Repeat([]byte{1}, 3309)
	ts.refused(t, "Verify", vr, "UnsupportedOperationException", "Verify with MessageType EXTERNAL_MU is not supported by this server; verify the message with MessageType RAW, or offline with the public key.")
	ts.refused(t, "Sign", map[string]any{"KeyId": id, "Message": mu, "SigningAlgorithm": "ECDSA_SHA_256"}, "InvalidKeyUsageException", "Algorithm ECDSA_SHA_256 is incompatible with key spec ML_DSA_65.")
	ts.refused(t, "Sign", sign(bytes.Repeat([]byte{1}, 4097), "RAW"), "ValidationException", "")
	// A 4096-byte message, AWS's largest, signs.
	ts.mustCall(t, "Sign", sign(bytes.Repeat([]byte{1}, 4096), "RAW"))
	// ECDSA keys still refuse EXTERNAL_MU as before.
	ec, _ := ts.newSpecKey(t, "ECC_NIST_P256", "SIGN_VERIFY")
	ts.refused(t, "Sign", map[string]any{"KeyId": ec, "Message": mu, "MessageType": "EXTERNAL_MU", "SigningAlgorithm": "ECDSA_SHA_256"},
		"ValidationException", "MessageType EXTERNAL_MU is valid only with the ML_DSA_SHAKE_256 signing algorithm.")
}

// TestMLKEMRoundTrip encapsulates through the API and offline (crypto/mlkem
// on GetPublicKey's key), decapsulating both through the API.
func TestMLKEMRoundTrip(t *testing.T) {
	ts := newTestService(t)
	for _, spec := range []string{"ML_KEM_512", "ML_KEM_768", "ML_KEM_1024"} {
		t.Run(spec, func(t *testing.T) {
			id, md := ts.newSpecKey(t, spec, "ENCAPSULATE_DECAPSULATE")
			if got := strs(md["EncapsulationAlgorithms"]); !slices.Equal(got, []string{"ML_KEM"}) || md["EncryptionAlgorithms"] != nil {
				t.Fatalf("metadata %v", md)
			}
			gp := ts.mustCall(t, "GetPublicKey", map[string]any{"KeyId": id})
			if got := strs(gp["EncapsulationAlgorithms"]); !slices.Equal(got, []string{"ML_KEM"}) {
				t.Fatalf("GetPublicKey %v", gp)
			}
			pub, err := crypto.ParsePublicKey(unb64(t, gp["PublicKey"]))
			if err != nil || string(pub.Spec) != spec {
				t.Fatalf("SPKI: %v %v", pub, err)
			}
			enc := ts.mustCall(t, "Encapsulate", map[string]any{"KeyId": id, "EncapsulationAlgorithm": "ML_KEM"})
			ss, ct := unb64(t, enc["SharedSecret"]), unb64(t, enc["SharedSecretCiphertextBlob"])
			if len(ss) != 32 || len(ct) != crypto.MLKEMCiphertextSize(crypto.KeySpec(spec)) || enc["EncapsulationAlgorithm"] != "ML_KEM" {
				t.Fatalf("Encapsulate %d %d %v", len(ss), len(ct), enc["EncapsulationAlgorithm"])
			}
			dec := ts.mustCall(t, "Decapsulate", map[string]any{"KeyId": id, "EncapsulationAlgorithm": "ML_KEM", "SharedSecretCiphertextBlob": ct})
			if !bytes.Equal(unb64(t, dec["SharedSecret"]), ss) {
				t.Fatal("Decapsulate gives another secret")
			}
			// Offline with the standard library where it has the set.
			var offSS, offCT []byte
			switch spec {
			case "ML_KEM_768":
				ek, err := mlkem.NewEncapsulationKey768(pub.Key.([]byte))
				if err != nil {
					t.Fatal(err)
				}
				offSS, offCT = ek.Encapsulate()
			case "ML_KEM_1024":
				ek, err := mlkem.NewEncapsulationKey1024(pub.Key.([]byte))
				if err != nil {
					t.Fatal(err)
				}
				offSS, offCT = ek.Encapsulate()
			default:
				offSS, offCT, err = crypto.MLKEMEncapsulate(crypto.SpecMLKEM512, pub.Key.([]byte))
				if err != nil {
					t.Fatal(err)
				}
			}
			dec = ts.mustCall(t, "Decapsulate", map[string]any{"KeyId": id, "EncapsulationAlgorithm": "ML_KEM", "SharedSecretCiphertextBlob": offCT})
			if !bytes.Equal(unb64(t, dec["SharedSecret"]), offSS) {
				t.Fatal("offline encapsulation does not decapsulate")
			}
			// Implicit rejection: a changed ciphertext gives another secret, no error.
			ct[0] ^= 1
			dec = ts.mustCall(t, "Decapsulate", map[string]any{"KeyId": id, "EncapsulationAlgorithm": "ML_KEM", "SharedSecretCiphertextBlob": ct})
			if got := unb64(t, dec["SharedSecret"]); len(got) != 32 || bytes.Equal(got, ss) {
				t.Fatal("tampered ciphertext gave the secret")
			}
			ts.refused(t, "Decapsulate", map[string]any{"KeyId": id, "EncapsulationAlgorithm": "ML_KEM", "SharedSecretCiphertextBlob": ct[1:]}, "InvalidCiphertextException", "")
		})
	}
}

func TestMLKEMRefusals(t *testing.T) {
	ts := newTestService(t)
	id, _ := ts.newSpecKey(t, "ML_KEM_768", "ENCAPSULATE_DECAPSULATE")
	sym, _ := ts.newKey(t)
	sig, _ := ts.newSpecKey(t, "ML_DSA_44", "SIGN_VERIFY")
	before := ts.snapshot(t)
	ts.refused(t, "Encapsulate", map[string]any{"KeyId": id}, "ValidationException", "")
	ts.refused(t, "Encapsulate", map[string]any{"KeyId": id, "EncapsulationAlgorithm": "ECDH"}, "ValidationException", "")
	ts.refused(t, "Encapsulate", map[string]any{"KeyId": sym, "EncapsulationAlgorithm": "ML_KEM"}, "InvalidKeyUsageException", "")
	ts.refused(t, "Decapsulate", map[string]any{"KeyId": sig, "EncapsulationAlgorithm": "ML_KEM", "SharedSecretCiphertextBlob": []byte{1}}, "InvalidKeyUsageException", "")
	ts.refused(t, "Decapsulate", map[string]any{"KeyId": id, "EncapsulationAlgorithm": "ML_KEM"}, "ValidationException", "")
	ts.refused(t, "Encapsulate", map[string]any{"KeyId": id, "EncapsulationAlgorithm": "ML_KEM", "DryRun": true}, "DryRunOperationException", "")
	ts.refused(t, "Sign", map[string]any{"KeyId": id, "Message": []byte("m"), "SigningAlgorithm": "ML_DSA_SHAKE_256"}, "InvalidKeyUsageException", "")
	if !bytes.Equal(before, ts.snapshot(t)) {
		t.Fatal("a refused request changed the state")
	}
	ts.mustCall(t, "CreateGrant", map[string]any{"KeyId": id, "GranteePrincipal": "arn:aws:iam::111122223333:user/bob", "Operations": []string{"Encapsulate", "Decapsulate", "GetPublicKey"}})
	ts.refused(t, "CreateGrant", map[string]any{"KeyId": id, "GranteePrincipal": "arn:aws:iam::111122223333:user/bob", "Operations": []string{"Sign"}}, "ValidationException", "")
}
