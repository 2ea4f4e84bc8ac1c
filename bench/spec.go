package bench

import (
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/kms/types"
)

// keyPlan is the key an operation is driven with: its spec and usage, and
// the algorithm the requests name.
type keyPlan struct {
	spec    types.KeySpec
	usage   types.KeyUsageType
	signAlg types.SigningAlgorithmSpec
	macAlg  types.MacAlgorithmSpec
	encAlg  types.EncryptionAlgorithmSpec // "" for SYMMETRIC_DEFAULT (not named)
	maxSize int                           // the largest plaintext or message
}

// The key specs each kind of operation can take, and the default first.
var (
	encryptSpecs = []types.KeySpec{types.KeySpecSymmetricDefault, types.KeySpecRsa2048, types.KeySpecRsa3072, types.KeySpecRsa4096}
	signSpecs    = []types.KeySpec{types.KeySpecEccNistP256, types.KeySpecEccNistP384, types.KeySpecEccNistP521,
		types.KeySpecEccSecgP256k1, types.KeySpecEccNistEdwards25519, types.KeySpecRsa2048, types.KeySpecRsa3072,
		types.KeySpecRsa4096, types.KeySpecMlDsa44, types.KeySpecMlDsa65, types.KeySpecMlDsa87}
	macSpecs = []types.KeySpec{types.KeySpecHmac256, types.KeySpecHmac224, types.KeySpecHmac384, types.KeySpecHmac512}
)

// specsFor lists the key specs op can be driven with, the default first.
func specsFor(op Op) []types.KeySpec {
	switch op {
	case OpEncrypt, OpDecrypt:
		return encryptSpecs
	case OpSign, OpVerify:
		return signSpecs
	case OpGenerateMac, OpVerifyMac:
		return macSpecs
	}
	// generate-data-key and mixed need a symmetric encryption key.
	return []types.KeySpec{types.KeySpecSymmetricDefault}
}

// SpecsFor names the key specs op accepts, the default first, for -h.
func SpecsFor(op Op) string {
	var names []string
	for _, s := range specsFor(op) {
		names = append(names, string(s))
	}
	return strings.Join(names, ", ")
}

// planFor is the key op is driven with, or an error naming what op takes.
// spec "" is op's default.
func planFor(op Op, spec string) (keyPlan, error) {
	specs := specsFor(op)
	s := specs[0]
	if spec != "" {
		s = types.KeySpec(spec)
	}
	found := false
	for _, ok := range specs {
		found = found || ok == s
	}
	if !found {
		return keyPlan{}, fmt.Errorf("%w: -op %s cannot use key spec %q: want one of %s", ErrConfig, op, spec, SpecsFor(op))
	}
	p := keyPlan{spec: s, maxSize: MaxSize}
	switch {
	case op == OpSign || op == OpVerify:
		p.usage = types.KeyUsageTypeSignVerify
		switch s {
		case types.KeySpecEccNistP384:
			p.signAlg = types.SigningAlgorithmSpecEcdsaSha384
		case types.KeySpecEccNistP521:
			p.signAlg = types.SigningAlgorithmSpecEcdsaSha512
		case types.KeySpecEccNistP256, types.KeySpecEccSecgP256k1:
			p.signAlg = types.SigningAlgorithmSpecEcdsaSha256
		case types.KeySpecEccNistEdwards25519:
			p.signAlg = types.SigningAlgorithmSpecEd25519Sha512
		case types.KeySpecMlDsa44, types.KeySpecMlDsa65, types.KeySpecMlDsa87:
			p.signAlg = types.SigningAlgorithmSpecMlDsaShake256
		default:
			p.signAlg = types.SigningAlgorithmSpecRsassaPssSha256
		}
	case op == OpGenerateMac || op == OpVerifyMac:
		p.usage = types.KeyUsageTypeGenerateVerifyMac
		p.macAlg = types.MacAlgorithmSpec("HMAC_SHA_" + strings.TrimPrefix(string(s), "HMAC_"))
	default:
		p.usage = types.KeyUsageTypeEncryptDecrypt
		if s != types.KeySpecSymmetricDefault {
			// RSAES_OAEP_SHA_256's plaintext limit: the modulus less 66 bytes.
			p.encAlg = types.EncryptionAlgorithmSpecRsaesOaepSha256
			p.maxSize = map[types.KeySpec]int{types.KeySpecRsa2048: 190, types.KeySpecRsa3072: 318, types.KeySpecRsa4096: 446}[s]
		}
	}
	return p, nil
}
