package kms

import (
	stdcrypto "crypto"
	"crypto/elliptic"
	"net/http"
	"slices"

	"github.com/keyraft/keyraft/crypto"
	"github.com/keyraft/keyraft/fsm"
	"github.com/keyraft/keyraft/internal/awserr"
)

// Key usages, as AWS names them.
const (
	usageEncrypt     = "ENCRYPT_DECRYPT"
	usageSign        = "SIGN_VERIFY"
	usageMac         = "GENERATE_VERIFY_MAC"
	usageAgreement   = "KEY_AGREEMENT"
	usageEncapsulate = "ENCAPSULATE_DECAPSULATE"
	specSymmetric    = "SYMMETRIC_DEFAULT"
)

// keySpec is what one AWS KeySpec means here: the usages AWS allows it,
// for each usage the algorithms in the order AWS lists them (clients pick
// the first), and how its material is made.
type keySpec struct {
	// algorithms by usage; a usage absent here is refused at CreateKey.
	algorithms map[string][]string
	// kind, bits and curve say how an asymmetric private key is generated
	// (crypto.GenerateSigningKey); kind 0 is not asymmetric.
	kind  crypto.KeyKind
	bits  int
	curve elliptic.Curve
	// macSize is an HMAC key's length in bytes; 0 for other specs.
	macSize int
	// later names a spec AWS has that keyraft does not serve yet.
	later bool
}

var (
	rsaSigning = []string{
		"RSASSA_PKCS1_V1_5_SHA_256", "RSASSA_PKCS1_V1_5_SHA_384", "RSASSA_PKCS1_V1_5_SHA_512",
		"RSASSA_PSS_SHA_256", "RSASSA_PSS_SHA_384", "RSASSA_PSS_SHA_512",
	}
	rsaEncryption = []string{"RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"}
)

func rsaSpec(bits int) keySpec {
	return keySpec{algorithms: map[string][]string{usageSign: rsaSigning, usageEncrypt: rsaEncryption}, kind: crypto.KindRSA, bits: bits}
}

func nistSpec(curve elliptic.Curve, alg string) keySpec {
	return keySpec{algorithms: map[string][]string{usageSign: {alg}, usageAgreement: {"ECDH"}}, kind: crypto.KindECDSA, curve: curve}
}

func macSpec(alg string, size int) keySpec {
	return keySpec{algorithms: map[string][]string{usageMac: {alg}}, macSize: size}
}

// keySpecs is every KeySpec of AWS's enum but SM2 (China Regions only).
var keySpecs = map[string]keySpec{
	specSymmetric:           {algorithms: map[string][]string{usageEncrypt: {algSymmetric}}},
	"RSA_2048":              rsaSpec(2048),
	"RSA_3072":              rsaSpec(3072),
	"RSA_4096":              rsaSpec(4096),
	"ECC_NIST_P256":         nistSpec(elliptic.P256(), "ECDSA_SHA_256"),
	"ECC_NIST_P384":         nistSpec(elliptic.P384(), "ECDSA_SHA_384"),
	"ECC_NIST_P521":         nistSpec(elliptic.P521(), "ECDSA_SHA_512"),
	"ECC_SECG_P256K1":       {algorithms: map[string][]string{usageSign: {"ECDSA_SHA_256"}}, kind: crypto.KindSecp256k1},
	"ECC_NIST_EDWARDS25519": {algorithms: map[string][]string{usageSign: {"ED25519_SHA_512", "ED25519_PH_SHA_512"}}, kind: crypto.KindEd25519},
	"HMAC_224":              macSpec("HMAC_SHA_224", 28),
	"HMAC_256":              macSpec("HMAC_SHA_256", 32),
	"HMAC_384":              macSpec("HMAC_SHA_384", 48),
	"HMAC_512":              macSpec("HMAC_SHA_512", 64),
	"ML_DSA_44":             {algorithms: map[string][]string{usageSign: {"ML_DSA_SHAKE_256"}}, later: true},
	"ML_DSA_65":             {algorithms: map[string][]string{usageSign: {"ML_DSA_SHAKE_256"}}, later: true},
	"ML_DSA_87":             {algorithms: map[string][]string{usageSign: {"ML_DSA_SHAKE_256"}}, later: true},
	"ML_KEM_512":            {algorithms: map[string][]string{usageEncapsulate: {"ML_KEM"}}, later: true},
	"ML_KEM_768":            {algorithms: map[string][]string{usageEncapsulate: {"ML_KEM"}}, later: true},
	"ML_KEM_1024":           {algorithms: map[string][]string{usageEncapsulate: {"ML_KEM"}}, later: true},
}

// The wire enums, in the order of AWS's model (validation messages list them).
var (
	keySpecEnum = []string{"RSA_2048", "RSA_3072", "RSA_4096", "ECC_NIST_P256", "ECC_NIST_P384", "ECC_NIST_P521",
		"ECC_SECG_P256K1", "SYMMETRIC_DEFAULT", "HMAC_224", "HMAC_256", "HMAC_384", "HMAC_512", "SM2",
		"ML_DSA_44", "ML_DSA_65", "ML_DSA_87", "ECC_NIST_EDWARDS25519", "ML_KEM_512", "ML_KEM_768", "ML_KEM_1024"}
	customerMasterKeySpecEnum = []string{"RSA_2048", "RSA_3072", "RSA_4096", "ECC_NIST_P256", "ECC_NIST_P384",
		"ECC_NIST_P521", "ECC_SECG_P256K1", "SYMMETRIC_DEFAULT", "HMAC_224", "HMAC_256", "HMAC_384", "HMAC_512", "SM2"}
	keyUsageEnum     = []string{usageSign, usageEncrypt, usageMac, usageAgreement, usageEncapsulate}
	signingAlgEnum   = []string{"RSASSA_PSS_SHA_256", "RSASSA_PSS_SHA_384", "RSASSA_PSS_SHA_512", "RSASSA_PKCS1_V1_5_SHA_256", "RSASSA_PKCS1_V1_5_SHA_384", "RSASSA_PKCS1_V1_5_SHA_512", "ECDSA_SHA_256", "ECDSA_SHA_384", "ECDSA_SHA_512", "SM2DSA", "ML_DSA_SHAKE_256", "ED25519_SHA_512", "ED25519_PH_SHA_512"}
	macAlgEnum       = []string{"HMAC_SHA_224", "HMAC_SHA_256", "HMAC_SHA_384", "HMAC_SHA_512"}
	messageTypeEnum  = []string{"RAW", "DIGEST", "EXTERNAL_MU"}
	signingAlgByName = map[string]crypto.SigAlg{
		"RSASSA_PSS_SHA_256":        {Scheme: crypto.SchemePSS, Hash: stdcrypto.SHA256},
		"RSASSA_PSS_SHA_384":        {Scheme: crypto.SchemePSS, Hash: stdcrypto.SHA384},
		"RSASSA_PSS_SHA_512":        {Scheme: crypto.SchemePSS, Hash: stdcrypto.SHA512},
		"RSASSA_PKCS1_V1_5_SHA_256": {Scheme: crypto.SchemePKCS1v15, Hash: stdcrypto.SHA256},
		"RSASSA_PKCS1_V1_5_SHA_384": {Scheme: crypto.SchemePKCS1v15, Hash: stdcrypto.SHA384},
		"RSASSA_PKCS1_V1_5_SHA_512": {Scheme: crypto.SchemePKCS1v15, Hash: stdcrypto.SHA512},
		"ECDSA_SHA_256":             {Scheme: crypto.SchemeECDSA, Hash: stdcrypto.SHA256},
		"ECDSA_SHA_384":             {Scheme: crypto.SchemeECDSA, Hash: stdcrypto.SHA384},
		"ECDSA_SHA_512":             {Scheme: crypto.SchemeECDSA, Hash: stdcrypto.SHA512},
		"ED25519_SHA_512":           {Scheme: crypto.SchemeEd25519, Hash: stdcrypto.SHA512},
		"ED25519_PH_SHA_512":        {Scheme: crypto.SchemeEd25519ph, Hash: stdcrypto.SHA512},
	}
	macHashByName = map[string]stdcrypto.Hash{
		"HMAC_SHA_224": stdcrypto.SHA224, "HMAC_SHA_256": stdcrypto.SHA256,
		"HMAC_SHA_384": stdcrypto.SHA384, "HMAC_SHA_512": stdcrypto.SHA512,
	}
)

// resolveSpec validates CreateKey's KeySpec (or the deprecated
// CustomerMasterKeySpec, which AWS still takes and which means the same)
// and KeyUsage against each other and returns the spec's name and usage.
func resolveSpec(specName, cmkSpec, usage *string) (string, string, *awserr.Error) {
	name := specSymmetric
	switch {
	case specName != nil && cmkSpec != nil:
		return "", "", validation("keySpec", "KeySpec and CustomerMasterKeySpec cannot both be specified")
	case specName != nil:
		if e := checkEnum("keySpec", *specName, keySpecEnum...); e != nil {
			return "", "", e
		}
		name = *specName
	case cmkSpec != nil:
		if e := checkEnum("customerMasterKeySpec", *cmkSpec, customerMasterKeySpecEnum...); e != nil {
			return "", "", e
		}
		name = *cmkSpec
	}
	u := usageEncrypt
	if usage != nil {
		if e := checkEnum("keyUsage", *usage, keyUsageEnum...); e != nil {
			return "", "", e
		}
		u = *usage
	}
	spec, ok := keySpecs[name]
	if !ok {
		return "", "", awserr.New("UnsupportedOperationException", http.StatusBadRequest,
			"KeySpec %s is available only in AWS China Regions and is not supported by this server.", name)
	}
	if _, ok := spec.algorithms[u]; !ok {
		return "", "", awserr.New("ValidationException", http.StatusBadRequest,
			"KeyUsage %s is not compatible with KeySpec %s", u, name)
	}
	if spec.later {
		return "", "", awserr.New("UnsupportedOperationException", http.StatusBadRequest,
			"KeySpec %s is not supported by this server yet.", name)
	}
	return name, u, nil
}

// algorithmsOf is a key's algorithm list for its usage, in AWS's order.
func algorithmsOf(spec, usage string) []string {
	return keySpecs[spec].algorithms[usage]
}

// wrongUsage is AWS's answer to an operation the key's usage does not allow.
func (s *Service) wrongUsage(keyID, usage, op string) *awserr.Error {
	return awserr.New("InvalidKeyUsageException", http.StatusBadRequest,
		"%s key usage is %s which is not valid for %s.", s.arn(keyID), usage, op)
}

// symmetricOnly refuses a key the symmetric operations (Encrypt, Decrypt,
// ReEncrypt, GenerateDataKey*) cannot use: their material is an AES key,
// so any other key's material must never reach them.
func (s *Service) symmetricOnly(k *fsm.Key, op string) *awserr.Error {
	if k.KeyUsage != usageEncrypt {
		return s.wrongUsage(k.KeyID, k.KeyUsage, op)
	}
	if k.KeySpec != specSymmetric {
		return incompatibleAlgorithm(algSymmetric, k.KeySpec)
	}
	return nil
}

// grantOperationsByUsage are the grant operations AWS accepts on a key of
// each usage beyond those every key takes (CreateGrant, RetireGrant,
// DescribeKey); symmetric and RSA encryption keys differ, so the
// symmetric one is keyed by its spec.
var grantOperationsByUsage = map[string][]string{
	specSymmetric: {"Decrypt", "Encrypt", "GenerateDataKey", "GenerateDataKeyWithoutPlaintext", "ReEncryptFrom",
		"ReEncryptTo", "GenerateDataKeyPair", "GenerateDataKeyPairWithoutPlaintext"},
	usageEncrypt:   {"Decrypt", "Encrypt", "ReEncryptFrom", "ReEncryptTo", "GetPublicKey"},
	usageSign:      {"Sign", "Verify", "GetPublicKey"},
	usageMac:       {"GenerateMac", "VerifyMac"},
	usageAgreement: {"DeriveSharedSecret", "GetPublicKey"},
}

// grantOperationsFit refuses a grant whose operations the key's type
// cannot perform, as AWS does: such a grant could never allow anything.
// A key's spec and usage never change, so this check cannot race.
func grantOperationsFit(k *fsm.Key, ops []string) *awserr.Error {
	allowed := grantOperationsByUsage[k.KeyUsage]
	if k.KeySpec == specSymmetric {
		allowed = grantOperationsByUsage[specSymmetric]
	}
	for _, op := range ops {
		switch op {
		case "CreateGrant", "RetireGrant", "DescribeKey":
			continue
		}
		if !slices.Contains(allowed, op) {
			return awserr.New("ValidationException", http.StatusBadRequest,
				"Grant operation %s is not valid for a KMS key with KeySpec %s and KeyUsage %s.", op, k.KeySpec, k.KeyUsage)
		}
	}
	return nil
}

// incompatibleAlgorithm is AWS's answer to an algorithm the key's spec
// does not have.
func incompatibleAlgorithm(alg, spec string) *awserr.Error {
	return awserr.New("InvalidKeyUsageException", http.StatusBadRequest, "Algorithm %s is incompatible with key spec %s.", alg, spec)
}
