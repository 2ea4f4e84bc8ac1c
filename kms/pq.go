package kms

import (
	"context"
	"errors"

	"github.com/keyraft/keyraft/crypto"
	"github.com/keyraft/keyraft/fsm"
	"github.com/keyraft/keyraft/internal/awserr"
	"github.com/keyraft/keyraft/internal/sensitive"
)

// Post-quantum keys. ML-DSA keys sign through Sign and Verify (sign.go);
// ML-KEM keys answer Encapsulate and Decapsulate here. Both keep their
// private key as a seed in the same sealed PKCS#8 material and the same
// parsed-key cache as every other asymmetric key (withSigningKey).

// The algorithm names AWS gives the post-quantum specs.
const (
	algMLDSA = "ML_DSA_SHAKE_256"
	algMLKEM = "ML_KEM"
)

type encapsulateRequest struct {
	KeyId                  string
	EncapsulationAlgorithm *string
	GrantTokens            []string
	DryRun                 bool
}

type decapsulateRequest struct {
	KeyId                      string
	EncapsulationAlgorithm     *string
	SharedSecretCiphertextBlob []byte
	GrantTokens                []string
	DryRun                     bool
}

// prepareKEM is what Encapsulate and Decapsulate share: the algorithm
// checked, the key resolved, authorized, usable and an ML-KEM key.
func (s *Service) prepareKEM(call Call, keyID string, alg *string, grantTokens []string) (*fsm.Key, *awserr.Error) {
	if e := checkGrantTokens(grantTokens); e != nil {
		return nil, e
	}
	if alg == nil {
		return nil, validation("encapsulationAlgorithm", "Member must not be null")
	}
	if e := checkEnum("encapsulationAlgorithm", *alg, algMLKEM); e != nil {
		return nil, e
	}
	k, e := s.resolveKey("keyId", keyID)
	if e != nil {
		return nil, e
	}
	if e := s.authorize(call, k, nil, grantTokens); e != nil {
		return nil, e
	}
	if e := s.usable(k); e != nil {
		return nil, e
	}
	if k.KeyUsage != usageEncapsulate {
		return nil, s.wrongUsage(k.KeyID, k.KeyUsage, call.Op)
	}
	return k, nil
}

// Encapsulate makes a fresh 32-byte shared secret and its ciphertext under
// the key's public half. It writes nothing: like AWS, the shared secret is
// the caller's alone, answered once and never audited.
func (s *Service) Encapsulate(ctx context.Context, call Call, req *encapsulateRequest) (any, *awserr.Error) {
	k, e := s.prepareKEM(call, req.KeyId, req.EncapsulationAlgorithm, req.GrantTokens)
	if e != nil {
		return nil, e
	}
	if req.DryRun {
		return nil, dryRunSucceeded()
	}
	var ss, ct []byte
	e = s.withSigningKey(k, func(sk *crypto.SigningKey) *awserr.Error {
		var err error
		if ss, ct, err = sk.Encapsulate(); err != nil {
			return Internal("encapsulation failed")
		}
		return nil
	})
	if e != nil {
		return nil, e
	}
	return map[string]any{"KeyId": s.arn(k.KeyID), "EncapsulationAlgorithm": algMLKEM,
		"SharedSecret": sensitive.Bytes(ss), "SharedSecretCiphertextBlob": ct}, nil
}

// Decapsulate recovers the shared secret of a ciphertext. Only a ciphertext
// of the wrong length for the key's spec is refused (InvalidCiphertext
// Exception, as AWS documents); any other yields FIPS 203's implicit-
// rejection secret, so the answer tells an attacker nothing.
func (s *Service) Decapsulate(ctx context.Context, call Call, req *decapsulateRequest) (any, *awserr.Error) {
	if e := checkBlobLen("sharedSecretCiphertextBlob", req.SharedSecretCiphertextBlob, 1, 6144); e != nil {
		return nil, e
	}
	k, e := s.prepareKEM(call, req.KeyId, req.EncapsulationAlgorithm, req.GrantTokens)
	if e != nil {
		return nil, e
	}
	if req.DryRun {
		return nil, dryRunSucceeded()
	}
	var ss []byte
	e = s.withSigningKey(k, func(sk *crypto.SigningKey) *awserr.Error {
		var err error
		ss, err = sk.Decapsulate(req.SharedSecretCiphertextBlob)
		switch {
		case errors.Is(err, crypto.ErrInvalidCiphertext):
			return invalidCiphertext()
		case err != nil:
			return Internal("decapsulation failed")
		}
		return nil
	})
	if e != nil {
		return nil, e
	}
	return map[string]any{"KeyId": s.arn(k.KeyID), "EncapsulationAlgorithm": algMLKEM, "SharedSecret": sensitive.Bytes(ss)}, nil
}
