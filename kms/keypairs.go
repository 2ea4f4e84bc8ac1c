package kms

import (
	"context"
	"net/http"

	"github.com/keyraft/keyraft/crypto"
	"github.com/keyraft/keyraft/internal/awserr"
	"github.com/keyraft/keyraft/internal/sensitive"
)

// GenerateDataKeyPair and GenerateDataKeyPairWithoutPlaintext: a new key
// pair made here and never stored; its PKCS#8 private key is encrypted
// under a SYMMETRIC_DEFAULT key as an ordinary keyraft blob (bound to the
// encryption context), so Decrypt opens it. Nothing is replicated.

// dataKeyPairSpecEnum is AWS's DataKeyPairSpec, in its model's order.
var dataKeyPairSpecEnum = []string{"RSA_2048", "RSA_3072", "RSA_4096", "ECC_NIST_P256", "ECC_NIST_P384", "ECC_NIST_P521",
	"ECC_SECG_P256K1", "SM2", "ECC_NIST_EDWARDS25519", "ML_KEM_512", "ML_KEM_768", "ML_KEM_1024"}

type generateDataKeyPairRequest struct {
	KeyId             string
	KeyPairSpec       *string
	EncryptionContext map[string]string
	GrantTokens       []string
	Recipient         any
	DryRun            bool
}

func (s *Service) GenerateDataKeyPair(ctx context.Context, call Call, req *generateDataKeyPairRequest) (any, *awserr.Error) {
	return s.dataKeyPair(ctx, call, req, true)
}

func (s *Service) GenerateDataKeyPairWithoutPlaintext(ctx context.Context, call Call, req *generateDataKeyPairRequest) (any, *awserr.Error) {
	return s.dataKeyPair(ctx, call, req, false)
}

func (s *Service) dataKeyPair(ctx context.Context, call Call, req *generateDataKeyPairRequest, withPlaintext bool) (any, *awserr.Error) {
	if req.KeyPairSpec == nil {
		return nil, validation("keyPairSpec", "Member must not be null")
	}
	if e := firstErr(checkEnum("keyPairSpec", *req.KeyPairSpec, dataKeyPairSpecEnum...), checkContext(req.EncryptionContext),
		checkGrantTokens(req.GrantTokens)); e != nil {
		return nil, e
	}
	if *req.KeyPairSpec == "SM2" {
		return nil, awserr.New("UnsupportedOperationException", http.StatusBadRequest,
			"KeyPairSpec SM2 is available only in AWS China Regions and is not supported by this server.")
	}
	if req.Recipient != nil {
		// Only GenerateDataKeyPair takes Recipient in AWS; it needs Nitro
		// Enclaves attestation either way.
		return nil, awserr.New("UnsupportedOperationException", http.StatusBadRequest,
			"Recipient (Nitro Enclaves attestation) is not supported by this server.")
	}
	k, e := s.resolveKey("keyId", req.KeyId)
	if e != nil {
		return nil, e
	}
	if e := s.authorize(call, k, req.EncryptionContext, req.GrantTokens); e != nil {
		return nil, e
	}
	if e := firstErr(s.usable(k), s.symmetricOnly(k, call.Op)); e != nil {
		return nil, e
	}
	if req.DryRun {
		return nil, dryRunSucceeded()
	}
	release, e := s.acquireRSAKeygen(ctx, *req.KeyPairSpec)
	if e != nil {
		return nil, e
	}
	priv, pub, err := crypto.GenerateDataKeyPair(crypto.KeySpec(*req.KeyPairSpec), s.rand())
	release()
	if err != nil {
		return nil, Internal("could not generate a key pair")
	}
	blob, e := s.encryptUnder(k, priv, req.EncryptionContext)
	if e != nil {
		clear(priv)
		return nil, e
	}
	out := map[string]any{"KeyId": s.arn(k.KeyID), "KeyPairSpec": *req.KeyPairSpec, "PrivateKeyCiphertextBlob": blob, "PublicKey": pub}
	if withPlaintext {
		// The gateway zeroes sensitive.Bytes once the answer is written (awsjson.ForgetSecrets).
		out["PrivateKeyPlaintext"] = sensitive.Bytes(priv)
	} else {
		clear(priv)
	}
	return out, nil
}
