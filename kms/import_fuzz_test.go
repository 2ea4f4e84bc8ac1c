package kms

import (
	"bytes"
	"errors"
	"testing"
)

// FuzzDecodeImportToken: the token plaintext decoder never panics, refuses
// with errBadToken only, and what it accepts names a wrapping key of the
// size its spec says and an algorithm keyraft unwraps with.
func FuzzDecodeImportToken(f *testing.F) {
	f.Fuzz(func(t *testing.T, plain []byte) {
		tok, err := decodeImportToken(plain)
		if err != nil {
			if !errors.Is(err, errBadToken) {
				t.Fatalf("undocumented error %v", err)
			}
			return
		}
		if tok.keyID == "" || wrappingBits[tok.spec] == 0 || tok.validTo.IsZero() || len(tok.wrappingKey) == 0 {
			t.Fatalf("accepted an incomplete token: %+v", tok)
		}
	})
}

// FuzzCheckImportedMaterial: checking any bytes as any key spec's imported
// material never panics, refuses with IncorrectKeyMaterialException only,
// and what it accepts is canonical: checked again it gives the same bytes
// and the same KeyMaterialId.
func FuzzCheckImportedMaterial(f *testing.F) {
	specs := []string{specSymmetric, "HMAC_224", "HMAC_512", "RSA_2048", "ECC_NIST_P256", "ECC_NIST_P521", "ECC_SECG_P256K1"}
	f.Fuzz(func(t *testing.T, sel, material []byte) {
		spec := specs[0]
		if len(sel) > 0 {
			spec = specs[int(sel[0])%len(specs)]
		}
		im, e := checkImportedMaterial(fixedKeyID, spec, material)
		if e != nil {
			if e.Type != "IncorrectKeyMaterialException" {
				t.Fatalf("%s: %v", spec, e)
			}
			return
		}
		again, e := checkImportedMaterial(fixedKeyID, spec, im.canonical)
		if e != nil || again.id != im.id || !bytes.Equal(again.canonical, im.canonical) {
			t.Fatalf("%s: the canonical form does not check to itself: %v", spec, e)
		}
		if other, _ := checkImportedMaterial(missingKeyID, spec, material); other.id == im.id {
			t.Fatalf("%s: the same id for another key", spec)
		}
	})
}
