package e2e

import (
	"bytes"
	"context"
	stdcrypto "crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"math/big"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/sigstore/sigstore/pkg/signature/options"

	sigaws "github.com/sigstore/sigstore/pkg/signature/kms/aws"
)

// sigstoreSpecs is every key spec sigstore's AWS KMS signer supports
// (its SupportedAlgorithms, which the test checks against this list).
var sigstoreSpecs = []types.KeySpec{
	types.KeySpecRsa2048, types.KeySpecRsa3072, types.KeySpecRsa4096,
	types.KeySpecEccNistP256, types.KeySpecEccNistP384, types.KeySpecEccNistP521,
}

// TestSigstoreAWSKMSSigner: the signer cosign uses for awskms:// keys,
// code no one here wrote, signs and verifies through a three-node TLS
// cluster. sigstore builds its endpoint as "https://" + the reference's
// host, so the cluster serves TLS and the signer trusts its CA through the
// config options it accepts; each key is reached through another node, so
// followers forward its calls. For every spec it supports, on a key made
// through the SDK and named by id or by alias: SignMessage (DescribeKey's
// first algorithm, a DIGEST Sign), then VerifySignature with sigstore's
// local verifier and remotely (Verify), and with Go's crypto on the
// x509-parsed GetPublicKey; a tampered payload fails all three; its
// crypto.Signer signs an X.509 certificate that Go checks. Then
// sigstore's CreateKey makes a key by alias (CustomerMasterKeySpec,
// CreateAlias), finds it again on a second call, and signs with it.
// Finally a reference without a host reaches keyraft through
// AWS_ENDPOINT_URL, as the SDK's default config reads it.
func TestSigstoreAWSKMSSigner(t *testing.T) {
	ca := tlsGen(t, "n1", "n2", "n3")
	gk := gossipKeygen(t)
	c := startUnsealedClusterWith(t, func(p *proc) { p.secure(ca, gk) })

	var sv *sigaws.SignerVerifier
	if got := sv.SupportedAlgorithms(); fmt.Sprint(got) != fmt.Sprint(sigstoreSpecs) {
		t.Fatalf("sigstore supports %v; this test covers %v", got, sigstoreSpecs)
	}
	payload := []byte(`{"critical":{"identity":{"docker-reference":"registry.example/app"},"type":"cosign container image signature"}}`)
	tampered := bytes.Clone(payload)
	tampered[len(tampered)-2] ^= 1

	for i, spec := range sigstoreSpecs {
		p := c.nodes[i%len(c.nodes)]
		sdk := kmsClient(p.api, c.creds, 3)
		ck, err := sdk.CreateKey(ctxTimeout(t, 30*time.Second), &kms.CreateKeyInput{KeySpec: spec, KeyUsage: types.KeyUsageTypeSignVerify})
		if err != nil {
			t.Fatalf("CreateKey %s: %v", spec, err)
		}
		name := *ck.KeyMetadata.KeyId
		if i%2 == 1 { // every other key by alias, as cosign users name them
			name = "alias/sigstore-" + strings.ToLower(string(spec))
			if _, err := sdk.CreateAlias(ctx10(t), &kms.CreateAliasInput{AliasName: aws.String(name), TargetKeyId: ck.KeyMetadata.KeyId}); err != nil {
				t.Fatal(err)
			}
		}
		ref := sigstoreRef(p.api, name)
		t.Run(string(spec), func(t *testing.T) {
			sv := loadSigstore(t, ref, sigstoreOptions(t, p.api, c.creds)...)
			sigstoreRoundTrip(t, sv, sdk, *ck.KeyMetadata.KeyId, payload, tampered)
		})
	}

	t.Run("CreateKey", func(t *testing.T) {
		for i, spec := range []types.KeySpec{types.KeySpecEccNistP256, types.KeySpecRsa2048} {
			p := c.nodes[(i+1)%len(c.nodes)]
			alias := "alias/cosign-generated-" + strings.ToLower(string(spec))
			ref := sigstoreRef(p.api, alias)
			sv := loadSigstore(t, ref, sigstoreOptions(t, p.api, c.creds)...)
			pub, err := sv.CreateKey(ctxTimeout(t, 30*time.Second), string(spec))
			if err != nil {
				t.Fatalf("sigstore CreateKey %s: %v", spec, err)
			}
			sdk := kmsClient(p.api, c.creds, 3)
			dk, err := sdk.DescribeKey(ctx10(t), &kms.DescribeKeyInput{KeyId: aws.String(alias)})
			if err != nil {
				t.Fatalf("DescribeKey %s after sigstore's CreateKey: %v", alias, err)
			}
			md := dk.KeyMetadata
			if md.KeySpec != spec || md.KeyUsage != types.KeyUsageTypeSignVerify || md.Description == nil || *md.Description != "Created by Sigstore" {
				t.Fatalf("sigstore's key %s: spec %s usage %s description %v", alias, md.KeySpec, md.KeyUsage, aws.ToString(md.Description))
			}
			// A second CreateKey on the alias finds the key instead of making one.
			again := loadSigstore(t, ref, sigstoreOptions(t, p.api, c.creds)...)
			pub2, err := again.CreateKey(ctx10(t), string(spec))
			if err != nil {
				t.Fatalf("second sigstore CreateKey %s: %v", spec, err)
			}
			if !pub.(comparableKey).Equal(pub2) {
				t.Fatalf("second CreateKey on %s gave another public key", alias)
			}
			sigstoreRoundTrip(t, again, sdk, *md.KeyId, payload, tampered)
		}
	})

	t.Run("AWS_ENDPOINT_URL", func(t *testing.T) {
		p := c.nodes[2]
		sdk := kmsClient(p.api, c.creds, 3)
		ck, err := sdk.CreateKey(ctx10(t), &kms.CreateKeyInput{KeySpec: types.KeySpecEccNistP256, KeyUsage: types.KeyUsageTypeSignVerify})
		if err != nil {
			t.Fatal(err)
		}
		t.Setenv("AWS_ENDPOINT_URL", p.api)
		// With no host in the reference sigstore leaves the endpoint to the
		// SDK's default config, which takes it from the environment.
		sv := loadSigstore(t, "awskms:///"+*ck.KeyMetadata.KeyId, sigstoreOptions(t, p.api, c.creds)...)
		sigstoreRoundTrip(t, sv, sdk, *ck.KeyMetadata.KeyId, payload, tampered)
	})
}

// sigstoreRef is the awskms:// reference of key name on the node at api.
func sigstoreRef(api, name string) string {
	return "awskms://" + strings.TrimPrefix(api, "https://") + "/" + name
}

// sigstoreOptions are the config options a cosign user would give: the
// cluster's access key, its region, and the CA of api as the custom CA
// bundle (what AWS_CA_BUNDLE names; an option, so that a bundle set in
// this machine's environment does not take its place). No shared config
// file is read, so the test sees no ~/.aws.
func sigstoreOptions(t *testing.T, api string, creds initOutput) []func(*config.LoadOptions) error {
	t.Helper()
	ca, ok := apiCAs.Load(api)
	if !ok {
		t.Fatalf("%s serves no TLS", api)
	}
	pem, err := os.ReadFile(ca.(string))
	if err != nil {
		t.Fatal(err)
	}
	return []func(*config.LoadOptions) error{
		config.WithCustomCABundle(bytes.NewReader(pem)),
		config.WithRegion("us-east-1"),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(creds.AccessKeyID, creds.SecretAccessKey, "")),
		config.WithSharedConfigFiles([]string{}),
		config.WithSharedCredentialsFiles([]string{}),
		config.WithRetryMaxAttempts(3),
	}
}

func loadSigstore(t *testing.T, ref string, opts ...func(*config.LoadOptions) error) *sigaws.SignerVerifier {
	t.Helper()
	if err := sigaws.ValidReference(ref); err != nil {
		t.Fatalf("sigstore refuses reference %q: %v", ref, err)
	}
	sv, err := sigaws.LoadSignerVerifier(context.Background(), ref, opts...)
	if err != nil {
		t.Fatalf("LoadSignerVerifier %s: %v", ref, err)
	}
	return sv
}

// sigstoreRoundTrip signs payload with sv and checks the signature every
// way there is: sigstore's local and remote verification, and Go's crypto
// over the public key GetPublicKey gives through sdk; tampered must fail
// each of them. Then it signs a certificate through sv's crypto.Signer.
func sigstoreRoundTrip(t *testing.T, sv *sigaws.SignerVerifier, sdk *kms.Client, keyID string, payload, tampered []byte) {
	t.Helper()
	ctx := options.WithContext(ctx10(t))
	sig, err := sv.SignMessage(bytes.NewReader(payload), ctx)
	if err != nil {
		t.Fatalf("sigstore SignMessage: %v", err)
	}
	if err := sv.VerifySignature(bytes.NewReader(sig), bytes.NewReader(payload), ctx); err != nil {
		t.Fatalf("sigstore's local verifier refuses keyraft's signature: %v", err)
	}
	if err := sv.VerifySignature(bytes.NewReader(sig), bytes.NewReader(payload), ctx, options.WithRemoteVerification(true)); err != nil {
		t.Fatalf("sigstore's remote verification (Verify) refuses keyraft's signature: %v", err)
	}
	if err := sv.VerifySignature(bytes.NewReader(sig), bytes.NewReader(tampered), ctx); err == nil {
		t.Fatal("sigstore's local verifier accepts a tampered payload")
	}
	err = sv.VerifySignature(bytes.NewReader(sig), bytes.NewReader(tampered), ctx, options.WithRemoteVerification(true))
	var invalid *types.KMSInvalidSignatureException
	if !errors.As(err, &invalid) {
		t.Fatalf("remote verification of a tampered payload: got %v, want KMSInvalidSignatureException", err)
	}

	pk, err := sdk.GetPublicKey(ctx10(t), &kms.GetPublicKeyInput{KeyId: aws.String(keyID)})
	if err != nil {
		t.Fatal(err)
	}
	pub, err := x509.ParsePKIXPublicKey(pk.PublicKey)
	if err != nil {
		t.Fatalf("GetPublicKey's DER does not parse with crypto/x509: %v", err)
	}
	svPub, err := sv.PublicKey(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !pub.(comparableKey).Equal(svPub) {
		t.Fatal("sigstore's PublicKey differs from GetPublicKey's")
	}
	// sigstore signs with the key's first algorithm, over a digest of its hash.
	alg := pk.SigningAlgorithms[0]
	h, _ := hashOf(alg)
	if !stdVerifies(pub, alg, h, payload, sig) {
		t.Fatalf("%s signature made through sigstore does not verify with Go's crypto", alg)
	}
	if stdVerifies(pub, alg, h, tampered, sig) {
		t.Fatalf("%s signature verifies with Go's crypto over a tampered payload", alg)
	}

	// sigstore's crypto.Signer, which cosign hands to Go's x509 (a CSR, a
	// self-signed certificate): Go signs a certificate through it, checks
	// the signature itself, and the parsed certificate checks again.
	cs, _, err := sv.CryptoSigner(ctx10(t), func(err error) { t.Errorf("sigstore's crypto.Signer: %v", err) })
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "keyraft sigstore interop"},
		NotBefore: time.Now().Add(-time.Minute), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, cs.Public(), cs)
	if err != nil {
		t.Fatalf("x509.CreateCertificate through sigstore's crypto.Signer: %v", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	if err := cert.CheckSignature(cert.SignatureAlgorithm, cert.RawTBSCertificate, cert.Signature); err != nil {
		t.Fatalf("certificate signed through keyraft (%s): %v", cert.SignatureAlgorithm, err)
	}
	tbs := bytes.Clone(cert.RawTBSCertificate)
	tbs[len(tbs)-1] ^= 1
	if cert.CheckSignature(cert.SignatureAlgorithm, tbs, cert.Signature) == nil {
		t.Fatal("certificate signature verifies over an altered certificate")
	}
}

// comparableKey is what every public key of the standard library is.
type comparableKey interface {
	Equal(stdcrypto.PublicKey) bool
}

// stdVerifies checks a signature over msg with the standard library alone,
// for the RSA and ECDSA keys sigstore's AWS signer supports.
func stdVerifies(pub stdcrypto.PublicKey, alg types.SigningAlgorithmSpec, h stdcrypto.Hash, msg, sig []byte) bool {
	hh := h.New()
	hh.Write(msg)
	digest := hh.Sum(nil)
	switch p := pub.(type) {
	case *rsa.PublicKey:
		if strings.HasPrefix(string(alg), "RSASSA_PSS") {
			return rsa.VerifyPSS(p, h, digest, sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthAuto}) == nil
		}
		return rsa.VerifyPKCS1v15(p, h, digest, sig) == nil
	case *ecdsa.PublicKey:
		return ecdsa.VerifyASN1(p, digest, sig)
	}
	return false
}
