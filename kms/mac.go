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

// HMAC keys: GenerateMac and VerifyMac. The key's material is the HMAC key
// itself, opened through the material cache.

type generateMacRequest struct {
	KeyId        string
	Message      []byte
	MacAlgorithm *string
	GrantTokens  []string
	DryRun       bool
}

type verifyMacRequest struct {
	KeyId        string
	Message      []byte
	MacAlgorithm *string
	Mac          []byte
	GrantTokens  []string
	DryRun       bool
}

// prepareMac checks a MAC request and returns its key, authorized and of
// the algorithm's spec.
func (s *Service) prepareMac(call Call, keyID string, msg []byte, algName *string, grantTokens []string) (*fsm.Key, *awserr.Error) {
	if e := firstErr(checkBlobLen("message", msg, 1, 4096), checkGrantTokens(grantTokens)); e != nil {
		return nil, e
	}
	if algName == nil {
		return nil, validation("macAlgorithm", "Member must not be null")
	}
	if e := checkEnum("macAlgorithm", *algName, macAlgEnum...); e != nil {
		return nil, e
	}
	k, e := s.resolveKey("keyId", keyID)
	if e != nil {
		return nil, e
	}
	if e := s.authorizeWith(call, k, nil, grantTokens, policy.Algorithms{Mac: *algName}); e != nil {
		return nil, e
	}
	if e := s.usable(k); e != nil {
		return nil, e
	}
	if k.KeyUsage != usageMac {
		return nil, s.wrongUsage(k.KeyID, k.KeyUsage, call.Op)
	}
	if !slices.Contains(algorithmsOf(k.KeySpec, k.KeyUsage), *algName) {
		return nil, incompatibleAlgorithm(*algName, k.KeySpec)
	}
	return k, nil
}

func (s *Service) GenerateMac(ctx context.Context, call Call, req *generateMacRequest) (any, *awserr.Error) {
	k, e := s.prepareMac(call, req.KeyId, req.Message, req.MacAlgorithm, req.GrantTokens)
	if e != nil {
		return nil, e
	}
	if req.DryRun {
		return nil, dryRunSucceeded()
	}
	var mac []byte
	e = s.withMaterial(k, k.CurrentVersion(), func(m []byte) *awserr.Error {
		mac = crypto.Mac(macHashByName[*req.MacAlgorithm], m, req.Message)
		return nil
	})
	if e != nil {
		return nil, e
	}
	return map[string]any{"Mac": mac, "MacAlgorithm": *req.MacAlgorithm, "KeyId": s.arn(k.KeyID)}, nil
}

func (s *Service) VerifyMac(ctx context.Context, call Call, req *verifyMacRequest) (any, *awserr.Error) {
	if e := checkBlobLen("mac", req.Mac, 1, 6144); e != nil {
		return nil, e
	}
	k, e := s.prepareMac(call, req.KeyId, req.Message, req.MacAlgorithm, req.GrantTokens)
	if e != nil {
		return nil, e
	}
	if req.DryRun {
		return nil, dryRunSucceeded()
	}
	e = s.withMaterial(k, k.CurrentVersion(), func(m []byte) *awserr.Error {
		if err := crypto.VerifyMac(macHashByName[*req.MacAlgorithm], m, req.Message, req.Mac); errors.Is(err, crypto.ErrInvalidMac) {
			return awserr.New("KMSInvalidMacException", http.StatusBadRequest, "")
		}
		return nil
	})
	if e != nil {
		return nil, e
	}
	return map[string]any{"KeyId": s.arn(k.KeyID), "MacValid": true, "MacAlgorithm": *req.MacAlgorithm}, nil
}
