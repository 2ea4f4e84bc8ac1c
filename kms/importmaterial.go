package kms

import (
	"crypto/rsa"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"strconv"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/keyraft/keyraft/crypto"
	"github.com/keyraft/keyraft/fsm"
	"github.com/keyraft/keyraft/fsm/fsmpb"
	"github.com/keyraft/keyraft/internal/awserr"
	"github.com/keyraft/keyraft/seal"
)

// Import tokens and imported material: what ImportKeyMaterial checks
// before anything is proposed.
//
// A token is the wrapping private key and what it may be used for, sealed
// under the barrier keyring at a path naming the key. It is never
// replicated: GetParametersForImport writes nothing, any node that holds
// the keyring (every leader) opens it, and the path makes a token for one
// key fail to open for another. It expires by its own valid_to.

// importTokenValidity is how long GetParametersForImport's public key and
// token may be used, as AWS: 24 hours.
const importTokenValidity = 24 * time.Hour

// maxImportBlob bounds ImportToken and EncryptedKeyMaterial, as AWS's model (6144).
const maxImportBlob = 6144

func importTokenPath(keyID string) string { return "import-token/" + keyID }

// PendingMaterialPath is where new material awaiting RotateKeyOnDemand is
// sealed (the re-seal after a keyring rotation opens and seals it there).
func PendingMaterialPath(keyID, materialID string) string {
	return pendingMaterialPath(keyID, materialID)
}

func pendingMaterialPath(keyID, materialID string) string {
	return "key/" + keyID + "/pending/" + materialID
}

// importToken is an opened, checked token. wrappingKey is a secret.
type importToken struct {
	keyID, spec, alg string
	validTo          time.Time
	wrappingKey      []byte // PKCS#8 DER
}

var wrappingBits = map[string]int{"RSA_2048": 2048, "RSA_3072": 3072, "RSA_4096": 4096}

var (
	wrappingKeySpecEnum   = []string{"RSA_2048", "RSA_3072", "RSA_4096", "SM2"}
	wrappingAlgorithmEnum = []string{"RSAES_PKCS1_V1_5", "RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256",
		"RSA_AES_KEY_WRAP_SHA_1", "RSA_AES_KEY_WRAP_SHA_256", "SM2PKE"}
)

func invalidImportToken() *awserr.Error {
	return awserr.New("InvalidImportTokenException", http.StatusBadRequest,
		"The import token is invalid or does not belong to this KMS key.")
}

// sealImportToken seals t for t.keyID.
func sealImportToken(kr *seal.Keyring, t *importToken, rand io.Reader) ([]byte, error) {
	plain, err := proto.MarshalOptions{Deterministic: true}.Marshal(&fsmpb.ImportToken{
		KeyId: t.keyID, WrappingKeySpec: t.spec, WrappingAlgorithm: t.alg,
		ValidTo: t.validTo.UnixNano(), WrappingKey: t.wrappingKey,
	})
	if err != nil {
		return nil, err
	}
	defer clear(plain)
	return kr.Seal(importTokenPath(t.keyID), plain, rand)
}

// openImportToken opens a token for keyID: a token sealed for another key,
// tampered with, or not a token at all is InvalidImportTokenException.
func openImportToken(kr *seal.Keyring, keyID string, token []byte) (*importToken, *awserr.Error) {
	plain, err := kr.Open(importTokenPath(keyID), token)
	if err != nil {
		if errors.Is(err, seal.ErrSealed) {
			return nil, Sealed()
		}
		return nil, invalidImportToken()
	}
	defer clear(plain)
	t, derr := decodeImportToken(plain)
	if derr != nil || t.keyID != keyID {
		return nil, invalidImportToken()
	}
	return t, nil
}

var errBadToken = errors.New("malformed import token")

// decodeImportToken reads a token's plaintext. Only keyraft seals tokens,
// but the decoder checks every field anyway: a decoder trusts no bytes.
func decodeImportToken(plain []byte) (*importToken, error) {
	var pb fsmpb.ImportToken
	if err := proto.Unmarshal(plain, &pb); err != nil {
		return nil, errBadToken
	}
	defer clear(pb.WrappingKey)
	if _, ok := wrappingBits[pb.WrappingKeySpec]; !ok || pb.KeyId == "" || pb.ValidTo <= 0 {
		return nil, errBadToken
	}
	switch pb.WrappingAlgorithm {
	case crypto.WrapOAEPSHA1, crypto.WrapOAEPSHA256, crypto.WrapAESKeyWrapSHA1, crypto.WrapAESKeyWrapSHA2:
	default:
		return nil, errBadToken
	}
	priv, err := crypto.ParseWrappingKey(pb.WrappingKey)
	if err != nil || priv.N.BitLen() != wrappingBits[pb.WrappingKeySpec] {
		return nil, errBadToken
	}
	return &importToken{
		keyID: pb.KeyId, spec: pb.WrappingKeySpec, alg: pb.WrappingAlgorithm,
		validTo: time.Unix(0, pb.ValidTo).UTC(), wrappingKey: append([]byte(nil), pb.WrappingKey...),
	}, nil
}

// importedMaterial is unwrapped material checked against the key's spec:
// canonical is what is sealed (an asymmetric key re-encoded as keyraft
// writes PKCS#8), id its KeyMaterialId. canonical is a secret.
type importedMaterial struct {
	canonical []byte
	id        string
}

// materialID is AWS's KeyMaterialId of a key's material version: the import
// record's for EXTERNAL keys (which depends on the material, so that the
// same material is recognised), else SHA-256 over a label, the key id and
// the version (generated material has nothing to recognise, and its id
// must reveal nothing of it). "" for a version without an id.
func materialID(k *fsm.Key, version uint32) string {
	if k.Origin == fsm.OriginExternal {
		for _, r := range k.Imports {
			if r.Version == version && version != 0 {
				return r.KeyMaterialID
			}
		}
		return ""
	}
	if version == 0 {
		return ""
	}
	h := sha256.New()
	h.Write([]byte("keyraft generated key material\x00" + k.KeyID + "\x00" + strconv.FormatUint(uint64(version), 10)))
	return hex.EncodeToString(h.Sum(nil))
}

func incorrectKeyMaterial(msg string) *awserr.Error {
	return awserr.New("IncorrectKeyMaterialException", http.StatusBadRequest, "%s", msg)
}

// hmacImportSizes are the HMAC key lengths in bytes AWS accepts for imported
// material, by key spec: at least the spec's length, at most 1024 bits
// ("Requirements for imported key material").
var hmacImportSizes = map[string][2]int{
	"HMAC_224": {28, 128}, "HMAC_256": {32, 128}, "HMAC_384": {48, 128}, "HMAC_512": {64, 128},
}

// checkImportedMaterial validates material for a key of spec and makes its
// id. The material is the caller's to wipe; the result's canonical is a copy.
func checkImportedMaterial(keyID, spec string, material []byte) (*importedMaterial, *awserr.Error) {
	var canonical, idInput []byte
	switch {
	case spec == specSymmetric:
		if len(material) != crypto.KeySize {
			return nil, incorrectKeyMaterial("Symmetric key material must be 256 bits (32 bytes).")
		}
		canonical = append([]byte(nil), material...)
		idInput = material
	case hmacImportSizes[spec] != [2]int{}:
		r := hmacImportSizes[spec]
		if len(material) < r[0] || len(material) > r[1] {
			return nil, incorrectKeyMaterial("HMAC key material for " + spec + " must be between " +
				strconv.Itoa(r[0]) + " and " + strconv.Itoa(r[1]) + " bytes.")
		}
		canonical = append([]byte(nil), material...)
		idInput = material
	default:
		pk, err := crypto.ParsePrivateKey(material)
		if err != nil || string(pk.Spec) != spec {
			return nil, incorrectKeyMaterial("The key material is not a PKCS#8 DER private key of key spec " + spec + ".")
		}
		if rk, ok := pk.Key.(*rsa.PrivateKey); ok && len(rk.Primes) != 2 {
			pk.Wipe()
			return nil, incorrectKeyMaterial("Multi-prime RSA keys are not supported.")
		}
		pub, err := pk.PublicKeyDER()
		if err != nil {
			pk.Wipe()
			return nil, incorrectKeyMaterial("The key material's public key could not be derived.")
		}
		canonical, err = crypto.MarshalPrivateKey(pk)
		pk.Wipe()
		if err != nil {
			return nil, incorrectKeyMaterial("The key material could not be encoded.")
		}
		// The public key names an asymmetric key whatever PKCS#8 form the
		// client sent, so re-importing the same key matches.
		idInput = pub
	}
	h := sha256.New()
	h.Write([]byte("keyraft imported key material\x00" + keyID + "\x00"))
	h.Write(idInput)
	return &importedMaterial{canonical: canonical, id: hex.EncodeToString(h.Sum(nil))}, nil
}
