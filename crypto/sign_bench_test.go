package crypto

import (
	stdcrypto "crypto"
	"crypto/rand"
	"testing"
)

// BenchmarkSign is the CPU of one signature with each of the specs the
// bench compares (docs/performance.md, "Sign against local-kms"): the
// private-key operation alone, its key parsed once as kms caches it.
func BenchmarkSign(b *testing.B) {
	msg := make([]byte, 32)
	for _, c := range []struct {
		spec KeySpec
		alg  SigAlg
	}{
		{SpecECCNISTP256, SigAlg{Scheme: SchemeECDSA, Hash: stdcrypto.SHA256}},
		{SpecEd25519, SigAlg{Scheme: SchemeEd25519, Hash: stdcrypto.SHA512}},
		{SpecRSA2048, SigAlg{Scheme: SchemePSS, Hash: stdcrypto.SHA256}},
		{SpecRSA2048, SigAlg{Scheme: SchemePKCS1v15, Hash: stdcrypto.SHA256}},
		{SpecRSA4096, SigAlg{Scheme: SchemePSS, Hash: stdcrypto.SHA256}},
	} {
		der, err := GenerateSigningKey(c.spec, rand.Reader)
		if err != nil {
			b.Fatal(err)
		}
		k, err := ParseSigningKey(der)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(string(c.spec)+"/"+schemeName(c.alg.Scheme), func(b *testing.B) {
			for b.Loop() {
				if _, err := k.Sign(c.alg, msg, false, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func schemeName(s Scheme) string {
	return map[Scheme]string{SchemeECDSA: "ECDSA", SchemeEd25519: "Ed25519", SchemePSS: "PSS", SchemePKCS1v15: "PKCS1v15"}[s]
}
