package e2e

import (
	"bytes"
	"crypto/mlkem"
	"crypto/sha3"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/cloudflare/circl/kem/mlkem/mlkem512"
	"github.com/cloudflare/circl/sign/mldsa/mldsa44"
	"github.com/cloudflare/circl/sign/mldsa/mldsa65"
	"github.com/cloudflare/circl/sign/mldsa/mldsa87"
)

// spkiOf reads a DER SubjectPublicKeyInfo as RFC 9881 (ML-DSA) and RFC 9935
// (ML-KEM) define it: the algorithm's OID, no parameters, the raw key.
// It is parsed here with encoding/asn1, not with keyraft's own codec.
func spkiOf(t *testing.T, der []byte, oid asn1.ObjectIdentifier) []byte {
	t.Helper()
	var spki struct {
		Algorithm pkix.AlgorithmIdentifier
		PublicKey asn1.BitString
	}
	rest, err := asn1.Unmarshal(der, &spki)
	if err != nil || len(rest) != 0 {
		t.Fatalf("SPKI does not parse: %v", err)
	}
	if !spki.Algorithm.Algorithm.Equal(oid) || len(spki.Algorithm.Parameters.FullBytes) != 0 {
		t.Fatalf("SPKI algorithm %v (parameters %x), want %v without parameters", spki.Algorithm.Algorithm, spki.Algorithm.Parameters.FullBytes, oid)
	}
	return spki.PublicKey.RightAlign()
}

// TestPostQuantumKeys: through three nodes, requests spread over followers
// and the leader, every ML-DSA set signs and verifies (and the signature
// verifies with circl from GetPublicKey's SPKI), signs a μ computed from
// that key through a follower (EXTERNAL_MU), and every ML-KEM set
// encapsulates and decapsulates, through keyraft and offline with the
// public key.
func TestPostQuantumKeys(t *testing.T) {
	c := startUnsealedCluster(t)
	s := newSpread(c)
	leader := c.waitLeader(15*time.Second, "")
	viaFollower := kmsClient(c.follower(leader).api, c.creds, 3)
	msg := []byte("keyraft signs this after quantum computers")
	for _, sp := range []struct {
		spec   types.KeySpec
		oid    asn1.ObjectIdentifier
		verify func(pub, msg, sig []byte) bool
	}{
		{types.KeySpecMlDsa44, asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 3, 17}, func(pub, msg, sig []byte) bool {
			var pk mldsa44.PublicKey
			return pk.UnmarshalBinary(pub) == nil && mldsa44.Verify(&pk, msg, nil, sig)
		}},
		{types.KeySpecMlDsa65, asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 3, 18}, func(pub, msg, sig []byte) bool {
			var pk mldsa65.PublicKey
			return pk.UnmarshalBinary(pub) == nil && mldsa65.Verify(&pk, msg, nil, sig)
		}},
		{types.KeySpecMlDsa87, asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 3, 19}, func(pub, msg, sig []byte) bool {
			var pk mldsa87.PublicKey
			return pk.UnmarshalBinary(pub) == nil && mldsa87.Verify(&pk, msg, nil, sig)
		}},
	} {
		ck, err := s.next().CreateKey(ctxTimeout(t, 30*time.Second), &kms.CreateKeyInput{KeySpec: sp.spec, KeyUsage: types.KeyUsageTypeSignVerify})
		if err != nil {
			t.Fatalf("CreateKey %s: %v", sp.spec, err)
		}
		id := ck.KeyMetadata.KeyId
		algs := []types.SigningAlgorithmSpec{types.SigningAlgorithmSpecMlDsaShake256}
		if !slices.Equal(ck.KeyMetadata.SigningAlgorithms, algs) {
			t.Fatalf("%s SigningAlgorithms %v", sp.spec, ck.KeyMetadata.SigningAlgorithms)
		}
		pk, err := s.next().GetPublicKey(ctx10(t), &kms.GetPublicKeyInput{KeyId: id})
		if err != nil {
			t.Fatal(err)
		}
		if pk.KeySpec != sp.spec || pk.KeyUsage != types.KeyUsageTypeSignVerify || !slices.Equal(pk.SigningAlgorithms, algs) {
			t.Fatalf("%s GetPublicKey %+v", sp.spec, pk)
		}
		raw := spkiOf(t, pk.PublicKey, sp.oid)
		out, err := s.next().Sign(ctx10(t), &kms.SignInput{KeyId: id, Message: msg, MessageType: types.MessageTypeRaw, SigningAlgorithm: algs[0]})
		if err != nil {
			t.Fatalf("Sign %s: %v", sp.spec, err)
		}
		if !sp.verify(raw, msg, out.Signature) {
			t.Fatalf("%s signature does not verify with circl", sp.spec)
		}
		if sp.verify(raw, append(bytes.Clone(msg), '!'), out.Signature) {
			t.Fatalf("%s signature verifies another message: circl is not checking", sp.spec)
		}
		v, err := s.next().Verify(ctx10(t), &kms.VerifyInput{KeyId: id, Message: msg, SigningAlgorithm: algs[0], Signature: out.Signature})
		if err != nil || !v.SignatureValid {
			t.Fatalf("Verify %s: %v", sp.spec, err)
		}
		bad := bytes.Clone(out.Signature)
		bad[0] ^= 1
		_, err = s.next().Verify(ctx10(t), &kms.VerifyInput{KeyId: id, Message: msg, SigningAlgorithm: algs[0], Signature: bad})
		wantCode(t, "Verify of an altered ML-DSA signature", err, "KMSInvalidSignatureException")
		// EXTERNAL_MU through a follower: μ computed here from
		// GetPublicKey's key (RFC 9881: SHAKE256(tr ‖ 0 ‖ 0 ‖ msg), tr =
		// SHAKE256(pk)); the signature is a RAW one over msg, for circl and
		// for keyraft's Verify. Verifying a μ is not offered.
		tr := sha3.SumSHAKE256(raw, 64)
		mu := sha3.SumSHAKE256(append(append(tr[:], 0, 0), msg...), 64)
		muOut, err := viaFollower.Sign(ctx10(t), &kms.SignInput{KeyId: id, Message: mu[:], MessageType: types.MessageTypeExternalMu, SigningAlgorithm: algs[0]})
		if err != nil {
			t.Fatalf("Sign %s with EXTERNAL_MU via a follower: %v", sp.spec, err)
		}
		if !sp.verify(raw, msg, muOut.Signature) || sp.verify(raw, append(bytes.Clone(msg), '!'), muOut.Signature) {
			t.Fatalf("%s signature over μ is not circl's RAW signature of its message", sp.spec)
		}
		if v, err := s.next().Verify(ctx10(t), &kms.VerifyInput{KeyId: id, Message: msg, MessageType: types.MessageTypeRaw, SigningAlgorithm: algs[0], Signature: muOut.Signature}); err != nil || !v.SignatureValid {
			t.Fatalf("Verify RAW %s of a signature over μ: %v", sp.spec, err)
		}
		_, err = viaFollower.Verify(ctx10(t), &kms.VerifyInput{KeyId: id, Message: mu[:], MessageType: types.MessageTypeExternalMu, SigningAlgorithm: algs[0], Signature: muOut.Signature})
		wantCode(t, "Verify with EXTERNAL_MU", err, "UnsupportedOperationException")
		_, err = s.next().Sign(ctx10(t), &kms.SignInput{KeyId: id, Message: mu[:63], MessageType: types.MessageTypeExternalMu, SigningAlgorithm: algs[0]})
		wantCode(t, "Sign with a 63-byte EXTERNAL_MU", err, "ValidationException")
		_, err = s.next().Sign(ctx10(t), &kms.SignInput{KeyId: id, Message: make([]byte, 32), MessageType: types.MessageTypeDigest, SigningAlgorithm: algs[0]})
		wantCode(t, "Sign ML-DSA with DIGEST", err, "ValidationException")
	}

	var secrets [][]byte // shared secrets and their ciphertexts: never in the audit log
	for _, sp := range []struct {
		spec    types.KeySpec
		oid     asn1.ObjectIdentifier
		offline func(t *testing.T, ek []byte) (ss, ct []byte)
	}{
		{types.KeySpecMlKem512, asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 4, 1}, func(t *testing.T, ek []byte) ([]byte, []byte) {
			// The standard library has no ML-KEM-512: circl's, as crypto does.
			pk, err := mlkem512.Scheme().UnmarshalBinaryPublicKey(ek)
			if err != nil {
				t.Fatal(err)
			}
			ct, ss, err := mlkem512.Scheme().Encapsulate(pk)
			if err != nil {
				t.Fatal(err)
			}
			return ss, ct
		}},
		{types.KeySpecMlKem768, asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 4, 2}, func(t *testing.T, ek []byte) ([]byte, []byte) {
			k, err := mlkem.NewEncapsulationKey768(ek)
			if err != nil {
				t.Fatal(err)
			}
			ss, ct := k.Encapsulate()
			return ss, ct
		}},
		{types.KeySpecMlKem1024, asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 4, 3}, func(t *testing.T, ek []byte) ([]byte, []byte) {
			k, err := mlkem.NewEncapsulationKey1024(ek)
			if err != nil {
				t.Fatal(err)
			}
			ss, ct := k.Encapsulate()
			return ss, ct
		}},
	} {
		ck, err := s.next().CreateKey(ctxTimeout(t, 30*time.Second), &kms.CreateKeyInput{KeySpec: sp.spec, KeyUsage: types.KeyUsageTypeEncapsulateDecapsulate})
		if err != nil {
			t.Fatalf("CreateKey %s: %v", sp.spec, err)
		}
		id := ck.KeyMetadata.KeyId
		algs := []types.EncapsulationAlgorithmSpec{types.EncapsulationAlgorithmSpecMlKem}
		if !slices.Equal(ck.KeyMetadata.EncapsulationAlgorithms, algs) || ck.KeyMetadata.EncryptionAlgorithms != nil {
			t.Fatalf("%s metadata %v / %v", sp.spec, ck.KeyMetadata.EncapsulationAlgorithms, ck.KeyMetadata.EncryptionAlgorithms)
		}
		pk, err := s.next().GetPublicKey(ctx10(t), &kms.GetPublicKeyInput{KeyId: id})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(pk.EncapsulationAlgorithms, algs) || pk.KeyUsage != types.KeyUsageTypeEncapsulateDecapsulate {
			t.Fatalf("%s GetPublicKey %+v", sp.spec, pk)
		}
		ek := spkiOf(t, pk.PublicKey, sp.oid)
		enc, err := s.next().Encapsulate(ctx10(t), &kms.EncapsulateInput{KeyId: id, EncapsulationAlgorithm: algs[0]})
		if err != nil {
			t.Fatalf("Encapsulate %s: %v", sp.spec, err)
		}
		if len(enc.SharedSecret) != 32 || enc.EncapsulationAlgorithm != algs[0] {
			t.Fatalf("Encapsulate %s: %d-byte secret, %s", sp.spec, len(enc.SharedSecret), enc.EncapsulationAlgorithm)
		}
		dec, err := s.next().Decapsulate(ctx10(t), &kms.DecapsulateInput{KeyId: id, EncapsulationAlgorithm: algs[0], SharedSecretCiphertextBlob: enc.SharedSecretCiphertextBlob})
		if err != nil || !bytes.Equal(dec.SharedSecret, enc.SharedSecret) {
			t.Fatalf("Decapsulate %s: %v, same secret %v", sp.spec, err, err == nil && bytes.Equal(dec.SharedSecret, enc.SharedSecret))
		}
		secrets = append(secrets, enc.SharedSecret, enc.SharedSecretCiphertextBlob)
		ss, ct := sp.offline(t, ek)
		dec, err = s.next().Decapsulate(ctx10(t), &kms.DecapsulateInput{KeyId: id, EncapsulationAlgorithm: algs[0], SharedSecretCiphertextBlob: ct})
		if err != nil || !bytes.Equal(dec.SharedSecret, ss) {
			t.Fatalf("Decapsulate %s of an offline encapsulation: %v", sp.spec, err)
		}
		_, err = s.next().Decapsulate(ctx10(t), &kms.DecapsulateInput{KeyId: id, EncapsulationAlgorithm: algs[0], SharedSecretCiphertextBlob: ct[1:]})
		wantCode(t, "Decapsulate of a short ciphertext", err, "InvalidCiphertextException")
	}

	// The audit log names the key and algorithm, never a secret or its ciphertext.
	leader = c.waitLeader(10*time.Second, "")
	for _, name := range []string{"Encapsulate", "Decapsulate"} {
		evs := auditEvents(t, leader.api, "event_name="+name)
		if len(evs) < 3 {
			t.Fatalf("%d %s events", len(evs), name)
		}
		for _, ev := range evs {
			if rp, _ := ev["requestParameters"].(map[string]any); rp["encapsulationAlgorithm"] != "ML_KEM" || rp["keyId"] == nil {
				t.Fatalf("%s event parameters: %v", name, rp)
			}
			b, _ := json.Marshal(ev)
			for _, secret := range secrets {
				if bytes.Contains(b, []byte(base64.StdEncoding.EncodeToString(secret))) || bytes.Contains(b, secret) {
					t.Fatalf("%s event holds a shared secret or its ciphertext: %s", name, b)
				}
			}
		}
	}
}

// TestSigningAlgorithmCondition: a key policy that allows a user Sign only
// with ECDSA_SHA_256 over RAW messages (kms:SigningAlgorithm,
// kms:MessageType), and an identity policy allowing CreateKey only for
// ML-DSA signing keys (kms:KeySpec, kms:KeyUsage), hold through a follower.
func TestSigningAlgorithmCondition(t *testing.T) {
	c := startUnsealedCluster(t)
	root := kmsClient(c.nodes[0].api, c.creds, 3)
	signer := newUser(t, c, c.creds, "signer", doc(stmt("Allow", "", `"Action":"kms:CreateKey"`,
		`{"StringEquals":{"kms:KeySpec":["ML_DSA_44","ML_DSA_65","ML_DSA_87"],"kms:KeyUsage":"SIGN_VERIFY"}}`)))
	ck, err := root.CreateKey(ctx10(t), &kms.CreateKeyInput{KeySpec: types.KeySpecEccNistP256, KeyUsage: types.KeyUsageTypeSignVerify,
		Policy: aws.String(doc(rootStmt, stmt("Allow", aws1("signer"), `"Action":"kms:Sign"`,
			`{"StringEquals":{"kms:SigningAlgorithm":"ECDSA_SHA_256","kms:MessageType":"RAW"}}`)))})
	if err != nil {
		t.Fatal(err)
	}
	id := ck.KeyMetadata.KeyId
	_, err = signer.Sign(ctx10(t), &kms.SignInput{KeyId: id, Message: []byte("m"), MessageType: types.MessageTypeRaw, SigningAlgorithm: types.SigningAlgorithmSpecEcdsaSha256})
	checkAllowed(t, "Sign with the allowed algorithm", err, true)
	_, err = signer.Sign(ctx10(t), &kms.SignInput{KeyId: id, Message: make([]byte, 32), MessageType: types.MessageTypeDigest, SigningAlgorithm: types.SigningAlgorithmSpecEcdsaSha256})
	checkAllowed(t, "Sign of a DIGEST", err, false)
	_, err = signer.Verify(ctx10(t), &kms.VerifyInput{KeyId: id, Message: []byte("m"), Signature: []byte{1}, SigningAlgorithm: types.SigningAlgorithmSpecEcdsaSha256})
	checkAllowed(t, "Verify, not in the policy", err, false)

	_, err = signer.CreateKey(ctxTimeout(t, 30*time.Second), &kms.CreateKeyInput{KeySpec: types.KeySpecMlDsa65, KeyUsage: types.KeyUsageTypeSignVerify})
	checkAllowed(t, "CreateKey of an ML-DSA key", err, true)
	_, err = signer.CreateKey(ctx10(t), &kms.CreateKeyInput{KeySpec: types.KeySpecEccNistP256, KeyUsage: types.KeyUsageTypeSignVerify})
	checkAllowed(t, "CreateKey of an ECC key", err, false)
	_, err = signer.CreateKey(ctx10(t), &kms.CreateKeyInput{})
	checkAllowed(t, "CreateKey of a symmetric key", err, false)
}

// TestPostQuantumKeysSurviveFailover: an ML-DSA key's signature made before
// the leader dies verifies after, and an ML-KEM ciphertext made before
// decapsulates to the same secret on the new leader.
func TestPostQuantumKeysSurviveFailover(t *testing.T) {
	c := startUnsealedCluster(t)
	s := newSpread(c)
	msg := []byte("before and after")
	dsa, err := s.next().CreateKey(ctxTimeout(t, 30*time.Second), &kms.CreateKeyInput{KeySpec: types.KeySpecMlDsa65, KeyUsage: types.KeyUsageTypeSignVerify})
	if err != nil {
		t.Fatal(err)
	}
	kem, err := s.next().CreateKey(ctxTimeout(t, 30*time.Second), &kms.CreateKeyInput{KeySpec: types.KeySpecMlKem768, KeyUsage: types.KeyUsageTypeEncapsulateDecapsulate})
	if err != nil {
		t.Fatal(err)
	}
	sig, err := s.next().Sign(ctx10(t), &kms.SignInput{KeyId: dsa.KeyMetadata.KeyId, Message: msg, SigningAlgorithm: types.SigningAlgorithmSpecMlDsaShake256})
	if err != nil {
		t.Fatal(err)
	}
	enc, err := s.next().Encapsulate(ctx10(t), &kms.EncapsulateInput{KeyId: kem.KeyMetadata.KeyId, EncapsulationAlgorithm: types.EncapsulationAlgorithmSpecMlKem})
	if err != nil {
		t.Fatal(err)
	}

	leader := c.waitLeader(10*time.Second, "")
	leader.kill()
	newLeader := c.waitLeader(10*time.Second, leader.id)
	t.Logf("killed %s, %s leads", leader.id, newLeader.id)
	var via *proc
	for _, p := range c.nodes {
		if p != leader {
			via = p
		}
	}
	cl := kmsClient(via.api, c.creds, 5)
	v, err := cl.Verify(ctxTimeout(t, 20*time.Second), &kms.VerifyInput{KeyId: dsa.KeyMetadata.KeyId, Message: msg, SigningAlgorithm: types.SigningAlgorithmSpecMlDsaShake256, Signature: sig.Signature})
	if err != nil || !v.SignatureValid {
		t.Fatalf("ML-DSA signature made before failover: %v", err)
	}
	dec, err := cl.Decapsulate(ctx10(t), &kms.DecapsulateInput{KeyId: kem.KeyMetadata.KeyId, EncapsulationAlgorithm: types.EncapsulationAlgorithmSpecMlKem, SharedSecretCiphertextBlob: enc.SharedSecretCiphertextBlob})
	if err != nil || !bytes.Equal(dec.SharedSecret, enc.SharedSecret) {
		t.Fatalf("ML-KEM ciphertext made before failover: %v", err)
	}
}
