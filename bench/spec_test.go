package bench

import (
	"errors"
	"strings"
	"testing"
)

// TestKeySpecCombinations: each op takes the key specs it can use, its
// default when none is named, and refuses the others with a message that
// says what it takes.
func TestKeySpecCombinations(t *testing.T) {
	base := Config{Endpoints: []string{"http://127.0.0.1:1"}, AccessKeyID: "a", SecretAccessKey: "s"}
	for _, c := range []struct {
		op         Op
		spec       string
		size       int
		wantErr    string // "" : valid
		wantSpec   string
		wantSigAlg string
	}{
		{OpSign, "", 0, "", "ECC_NIST_P256", "ECDSA_SHA_256"},
		{OpVerify, "ECC_NIST_EDWARDS25519", 0, "", "ECC_NIST_EDWARDS25519", "ED25519_SHA_512"},
		{OpSign, "RSA_2048", 0, "", "RSA_2048", "RSASSA_PSS_SHA_256"},
		{OpSign, "ECC_NIST_P521", 0, "", "ECC_NIST_P521", "ECDSA_SHA_512"},
		{OpSign, "ML_DSA_65", 0, "", "ML_DSA_65", "ML_DSA_SHAKE_256"},
		{OpGenerateMac, "", 0, "", "HMAC_256", ""},
		{OpVerifyMac, "HMAC_512", 0, "", "HMAC_512", ""},
		{OpEncrypt, "", 0, "", "SYMMETRIC_DEFAULT", ""},
		{OpDecrypt, "RSA_2048", 190, "", "RSA_2048", ""},
		{OpDecrypt, "RSA_2048", 0, "at most 190 bytes", "", ""},
		{OpEncrypt, "RSA_4096", 447, "at most 446 bytes", "", ""},
		{OpSign, "SYMMETRIC_DEFAULT", 0, "-op sign cannot use key spec \"SYMMETRIC_DEFAULT\": want one of ECC_NIST_P256,", "", ""},
		{OpGenerateMac, "ECC_NIST_P256", 0, "want one of HMAC_256, HMAC_224, HMAC_384, HMAC_512", "", ""},
		{OpEncrypt, "HMAC_256", 0, "cannot use key spec", "", ""},
		{OpGenerateDataKey, "RSA_2048", 0, "want one of SYMMETRIC_DEFAULT", "", ""},
		{OpMixed, "ECC_NIST_P256", 0, "cannot use key spec", "", ""},
		{OpSign, "ecc_nist_p256", 0, "cannot use key spec", "", ""},
		{Op("sing"), "", 0, "op \"sing\"", "", ""},
	} {
		cfg := base
		cfg.Op, cfg.KeySpec, cfg.Size = c.op, c.spec, c.size
		err := cfg.withDefaults().validate()
		if c.wantErr != "" {
			if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("%s %q size %d: %v, want an ErrConfig saying %q", c.op, c.spec, c.size, err, c.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s %q: %v", c.op, c.spec, err)
			continue
		}
		p, _ := planFor(c.op, c.spec)
		if string(p.spec) != c.wantSpec || string(p.signAlg) != c.wantSigAlg {
			t.Errorf("%s %q: plan %+v, want %s %s", c.op, c.spec, p, c.wantSpec, c.wantSigAlg)
		}
	}
}
