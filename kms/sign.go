package kms

import (
	"context"
	"errors"
	"net/http"
	"slices"

	"github.com/keyraft/keyraft/crypto"
	"github.com/keyraft/keyraft/fsm"
	"github.com/keyraft/keyraft/internal/awserr"
	"github.com/keyraft/keyraft/policy"
)

// Asymmetric keys: GetPublicKey, Sign and Verify. The private key is the
// key's sealed PKCS#8 material, opened through the material cache; its
// parsed form is cached beside it (signers) and dropped with it on seal.
// The public key is derived from it, so the replicated key record carries
// nothing new.

// withSigningKey runs fn with the key's parsed private key, parsing it on
// first use. Like withMaterial, fn runs under the cache's read lock, so a
// seal cannot zero the key while fn signs with it.
func (s *Service) withSigningKey(k *fsm.Key, fn func(sk *crypto.SigningKey) *awserr.Error) *awserr.Error {
	v := k.CurrentVersion()
	path := materialPath(k.KeyID, v)
	if !s.materialPresent(k, v) {
		return s.withMaterial(k, v, nil) // refuses it, and drops what was cached
	}
	s.cacheMu.RLock()
	if sk, ok := s.signers[path]; ok {
		defer s.cacheMu.RUnlock()
		return fn(sk)
	}
	s.cacheMu.RUnlock()

	var sk *crypto.SigningKey
	e := s.withMaterial(k, v, func(m []byte) *awserr.Error {
		var err error
		if sk, err = crypto.ParseSigningKey(m); err != nil {
			return Internal("key material could not be parsed")
		}
		return nil
	})
	if e != nil {
		return e
	}
	s.cacheMu.Lock()
	// As in withMaterial: nothing may be cached after a seal.
	if _, err := s.Keyring(); err != nil {
		s.cacheMu.Unlock()
		sk.Zero()
		return Sealed()
	}
	if s.signers == nil {
		s.signers = map[string]*crypto.SigningKey{}
	}
	if _, ok := s.signers[path]; ok {
		sk.Zero() // another request cached it first
	} else {
		s.signers[path] = sk
		s.cachedSince = append(s.cachedSince, path)
	}
	s.cacheMu.Unlock()
	return s.withSigningKey(k, fn)
}

type getPublicKeyRequest struct {
	KeyId       string
	GrantTokens []string
}

func (s *Service) GetPublicKey(ctx context.Context, call Call, req *getPublicKeyRequest) (any, *awserr.Error) {
	if e := checkGrantTokens(req.GrantTokens); e != nil {
		return nil, e
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
	if !keySpecs[k.KeySpec].asymmetric {
		return nil, awserr.New("UnsupportedOperationException", http.StatusBadRequest,
			"%s key spec %s has no public key.", s.arn(k.KeyID), k.KeySpec)
	}
	var der []byte
	e = s.withSigningKey(k, func(sk *crypto.SigningKey) *awserr.Error {
		var err error
		if der, err = sk.PublicKeyDER(); err != nil {
			return Internal("the public key could not be encoded")
		}
		return nil
	})
	if e != nil {
		return nil, e
	}
	out := map[string]any{"KeyId": s.arn(k.KeyID), "PublicKey": der, "KeySpec": k.KeySpec, "KeyUsage": k.KeyUsage}
	if slices.Contains(customerMasterKeySpecEnum, k.KeySpec) {
		out["CustomerMasterKeySpec"] = k.KeySpec
	}
	field := map[string]string{usageSign: "SigningAlgorithms", usageEncrypt: "EncryptionAlgorithms", usageAgreement: "KeyAgreementAlgorithms", usageEncapsulate: "EncapsulationAlgorithms"}[k.KeyUsage]
	if field != "" {
		out[field] = algorithmsOf(k.KeySpec, k.KeyUsage)
	}
	return out, nil
}

type signRequest struct {
	KeyId            string
	Message          []byte
	MessageType      *string
	SigningAlgorithm *string
	GrantTokens      []string
	DryRun           bool
}

type verifyRequest struct {
	KeyId            string
	Message          []byte
	MessageType      *string
	Signature        []byte
	SigningAlgorithm *string
	GrantTokens      []string
	DryRun           bool
}

// signingCall is what Sign and Verify share: the request checked against
// AWS's rules, the key authorized and fit for the algorithm.
type signingCall struct {
	key      *fsm.Key
	alg      crypto.SigAlg
	algName  string
	isDigest bool
	// externalMu: the message is an ML-DSA μ (64 bytes, checked).
	externalMu bool
}

func (s *Service) prepareSigning(call Call, keyID string, msg []byte, msgType, algName *string, grantTokens []string) (*signingCall, *awserr.Error) {
	if e := firstErr(checkBlobLen("message", msg, 1, 4096), checkGrantTokens(grantTokens)); e != nil {
		return nil, e
	}
	if algName == nil {
		return nil, validation("signingAlgorithm", "Member must not be null")
	}
	if e := checkEnum("signingAlgorithm", *algName, signingAlgEnum...); e != nil {
		return nil, e
	}
	mt := "RAW"
	if msgType != nil {
		if e := checkEnum("messageType", *msgType, messageTypeEnum...); e != nil {
			return nil, e
		}
		mt = *msgType
	}
	k, e := s.resolveKey("keyId", keyID)
	if e != nil {
		return nil, e
	}
	if e := s.authorizeWith(call, k, nil, grantTokens, policy.Algorithms{Signing: *algName, MessageType: mt}); e != nil {
		return nil, e
	}
	if e := s.usable(k); e != nil {
		return nil, e
	}
	if k.KeyUsage != usageSign {
		return nil, s.wrongUsage(k.KeyID, k.KeyUsage, call.Op)
	}
	alg, ok := signingAlgByName[*algName]
	if !ok || !slices.Contains(algorithmsOf(k.KeySpec, k.KeyUsage), *algName) {
		return nil, incompatibleAlgorithm(*algName, k.KeySpec)
	}
	switch {
	case alg.Scheme == crypto.SchemeMLDSA && mt == "DIGEST":
		return nil, awserr.New("ValidationException", http.StatusBadRequest,
			"The ML_DSA_SHAKE_256 signing algorithm requires MessageType RAW or EXTERNAL_MU.")
	case alg.Scheme == crypto.SchemeMLDSA && mt == "EXTERNAL_MU" && len(msg) != crypto.MLDSAMuSize:
		return nil, awserr.New("ValidationException", http.StatusBadRequest,
			"Digest is invalid length for algorithm %s.", *algName)
	case mt == "EXTERNAL_MU" && alg.Scheme != crypto.SchemeMLDSA:
		return nil, awserr.New("ValidationException", http.StatusBadRequest,
			"MessageType EXTERNAL_MU is valid only with the ML_DSA_SHAKE_256 signing algorithm.")
	case alg.Scheme == crypto.SchemeEd25519 && mt != "RAW":
		return nil, awserr.New("ValidationException", http.StatusBadRequest,
			"The ED25519_SHA_512 signing algorithm requires MessageType RAW.")
	case alg.Scheme == crypto.SchemeEd25519ph && mt != "DIGEST":
		return nil, awserr.New("ValidationException", http.StatusBadRequest,
			"The ED25519_PH_SHA_512 signing algorithm requires MessageType DIGEST.")
	case mt == "DIGEST" && len(msg) != alg.Hash.Size():
		return nil, awserr.New("ValidationException", http.StatusBadRequest,
			"Digest is invalid length for algorithm %s.", *algName)
	}
	// Ed25519ph hashes the caller's digest as its message (crypto.Sign), so
	// only the other schemes skip their hash for a digest.
	isDigest := mt == "DIGEST" && alg.Scheme != crypto.SchemeEd25519ph
	return &signingCall{key: k, alg: alg, algName: *algName, isDigest: isDigest, externalMu: mt == "EXTERNAL_MU"}, nil
}

func (s *Service) Sign(ctx context.Context, call Call, req *signRequest) (any, *awserr.Error) {
	sc, e := s.prepareSigning(call, req.KeyId, req.Message, req.MessageType, req.SigningAlgorithm, req.GrantTokens)
	if e != nil {
		return nil, e
	}
	if req.DryRun {
		return nil, dryRunSucceeded()
	}
	var sig []byte
	e = s.withSigningKey(sc.key, func(sk *crypto.SigningKey) *awserr.Error {
		var err error
		if sc.externalMu {
			sig, err = sk.SignExternalMu(req.Message)
		} else {
			sig, err = sk.Sign(sc.alg, req.Message, sc.isDigest, s.rand())
		}
		if err != nil {
			return Internal("signing failed")
		}
		return nil
	})
	if e != nil {
		return nil, e
	}
	return map[string]any{"KeyId": s.arn(sc.key.KeyID), "Signature": sig, "SigningAlgorithm": sc.algName}, nil
}

func (s *Service) Verify(ctx context.Context, call Call, req *verifyRequest) (any, *awserr.Error) {
	if e := checkBlobLen("signature", req.Signature, 1, 6144); e != nil {
		return nil, e
	}
	sc, e := s.prepareSigning(call, req.KeyId, req.Message, req.MessageType, req.SigningAlgorithm, req.GrantTokens)
	if e != nil {
		return nil, e
	}
	if sc.externalMu {
		// crypto/mldsa signs a given μ but verifies only a message
		// (crypto/DESIGN.md): AWS's answer to a feature it does not offer.
		// A signature over μ verifies as RAW over the message μ came from.
		return nil, awserr.New("UnsupportedOperationException", http.StatusBadRequest,
			"Verify with MessageType EXTERNAL_MU is not supported by this server; verify the message with MessageType RAW, or offline with the public key.")
	}
	if req.DryRun {
		return nil, dryRunSucceeded()
	}
	e = s.withSigningKey(sc.key, func(sk *crypto.SigningKey) *awserr.Error {
		err := sk.Verify(sc.alg, req.Message, sc.isDigest, req.Signature)
		switch {
		case errors.Is(err, crypto.ErrInvalidSignature):
			return awserr.New("KMSInvalidSignatureException", http.StatusBadRequest, "")
		case err != nil:
			return Internal("verification failed")
		}
		return nil
	})
	if e != nil {
		return nil, e
	}
	return map[string]any{"KeyId": s.arn(sc.key.KeyID), "SignatureValid": true, "SigningAlgorithm": sc.algName}, nil
}
