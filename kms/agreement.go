package kms

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"net/http"

	"github.com/keyraft/keyraft/crypto"
	"github.com/keyraft/keyraft/fsm"
	"github.com/keyraft/keyraft/internal/awserr"
	"github.com/keyraft/keyraft/internal/sensitive"
)

// DeriveSharedSecret: ECDH between a KEY_AGREEMENT key (ECC_NIST_*) and a
// peer's DER SubjectPublicKeyInfo. The peer key is unauthenticated input:
// crypto.DeriveSharedSecret checks it whole (curve, point on curve, not
// infinity, uncompressed) before any arithmetic with the private scalar,
// so an invalid-curve attack learns nothing. The secret is answered as
// sensitive bytes and appears in no audit event or log.

type deriveSharedSecretRequest struct {
	KeyId                 string
	KeyAgreementAlgorithm *string
	PublicKey             []byte
	GrantTokens           []string
	DryRun                bool
	Recipient             any
}

func (s *Service) DeriveSharedSecret(ctx context.Context, call Call, req *deriveSharedSecretRequest) (any, *awserr.Error) {
	if req.KeyAgreementAlgorithm == nil {
		return nil, validation("keyAgreementAlgorithm", "Member must not be null")
	}
	if req.PublicKey == nil {
		return nil, validation("publicKey", "Member must not be null")
	}
	if e := firstErr(checkEnum("keyAgreementAlgorithm", *req.KeyAgreementAlgorithm, crypto.KeyAgreementECDH),
		checkBlobLen("publicKey", req.PublicKey, 1, 8192), checkGrantTokens(req.GrantTokens)); e != nil {
		return nil, e
	}
	if req.Recipient != nil {
		return nil, awserr.New("UnsupportedOperationException", http.StatusBadRequest,
			"Recipient (Nitro Enclaves attestation) is not supported by this server.")
	}
	k, e := s.resolveKey("keyId", req.KeyId)
	if e != nil {
		return nil, e
	}
	if e := s.authorize(call, k, nil, req.GrantTokens); e != nil {
		return nil, e
	}
	if e := s.usable(k); e != nil {
		return nil, e
	}
	if k.KeyUsage != usageAgreement {
		return nil, s.wrongUsage(k.KeyID, k.KeyUsage, call.Op)
	}
	if req.DryRun {
		return nil, dryRunSucceeded()
	}
	secret, e := s.deriveSecret(k, req.PublicKey)
	if e != nil {
		return nil, e
	}
	return map[string]any{"KeyId": s.arn(k.KeyID), "SharedSecret": sensitive.Bytes(secret),
		"KeyAgreementAlgorithm": crypto.KeyAgreementECDH, "KeyOrigin": k.Origin}, nil
}

func (s *Service) deriveSecret(k *fsm.Key, peer []byte) ([]byte, *awserr.Error) {
	var secret []byte
	e := s.withPrivateKey(k, func(pk *crypto.PrivateKey) *awserr.Error {
		priv, ok := pk.Key.(*ecdsa.PrivateKey)
		if !ok {
			return Internal("key material is not an ECC_NIST key")
		}
		var err error
		secret, err = crypto.DeriveSharedSecret(priv, peer)
		switch {
		case errors.Is(err, crypto.ErrWrongCurve):
			return awserr.New("ValidationException", http.StatusBadRequest,
				"The public key's curve does not match the KMS key's key spec %s.", k.KeySpec)
		case errors.Is(err, crypto.ErrInvalidPoint), errors.Is(err, crypto.ErrMalformedKey):
			// The message names the fault class only, never the key's bytes.
			return awserr.New("ValidationException", http.StatusBadRequest,
				"PublicKey is not a valid DER-encoded SubjectPublicKeyInfo of an uncompressed point on the curve of key spec %s.", k.KeySpec)
		case err != nil:
			return Internal("key agreement failed")
		}
		return nil
	})
	return secret, e
}
