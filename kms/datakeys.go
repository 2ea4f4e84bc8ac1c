package kms

import (
	"context"
	"net/http"

	"github.com/keyraft/keyraft/fsm"
	"github.com/keyraft/keyraft/internal/awserr"
	"github.com/keyraft/keyraft/internal/sensitive"
)

type generateDataKeyRequest struct {
	KeyId             string
	EncryptionContext map[string]string
	NumberOfBytes     *int32
	KeySpec           *string
	GrantTokens       []string
	DryRun            bool
}

func (s *Service) GenerateDataKey(ctx context.Context, call Call, req *generateDataKeyRequest) (any, *awserr.Error) {
	k, plaintext, blob, e := s.newDataKey(call, req)
	if e != nil {
		return nil, e
	}
	return map[string]any{"CiphertextBlob": blob, "Plaintext": sensitive.Bytes(plaintext), "KeyId": s.arn(k.KeyID)}, nil
}

func (s *Service) GenerateDataKeyWithoutPlaintext(ctx context.Context, call Call, req *generateDataKeyRequest) (any, *awserr.Error) {
	k, plaintext, blob, e := s.newDataKey(call, req)
	if e != nil {
		return nil, e
	}
	clear(plaintext)
	return map[string]any{"CiphertextBlob": blob, "KeyId": s.arn(k.KeyID)}, nil
}

// newDataKey makes a random data key and its ciphertext under the key the
// request names.
func (s *Service) newDataKey(call Call, req *generateDataKeyRequest) (*fsm.Key, []byte, []byte, *awserr.Error) {
	if e := firstErr(checkContext(req.EncryptionContext), checkGrantTokens(req.GrantTokens),
		checkRange("numberOfBytes", req.NumberOfBytes, 1, 1024)); e != nil {
		return nil, nil, nil, e
	}
	var n int
	switch {
	case req.KeySpec != nil && req.NumberOfBytes != nil:
		return nil, nil, nil, validation("keySpec", "Specify either KeySpec or NumberOfBytes, not both")
	case req.KeySpec != nil:
		if e := checkEnum("keySpec", *req.KeySpec, "AES_256", "AES_128"); e != nil {
			return nil, nil, nil, e
		}
		n = map[string]int{"AES_256": 32, "AES_128": 16}[*req.KeySpec]
	case req.NumberOfBytes != nil:
		n = int(*req.NumberOfBytes)
	default:
		return nil, nil, nil, validation("keySpec", "Either KeySpec or NumberOfBytes is required")
	}
	k, e := s.resolveKey("keyId", req.KeyId)
	if e != nil {
		return nil, nil, nil, e
	}
	if e := s.authorize(call, k, req.EncryptionContext, req.GrantTokens); e != nil {
		return nil, nil, nil, e
	}
	if e := firstErr(s.usable(k), s.symmetricOnly(k, call.Op)); e != nil {
		return nil, nil, nil, e
	}
	if req.DryRun {
		return nil, nil, nil, dryRunSucceeded()
	}
	plaintext := make([]byte, n)
	if _, err := s.rand().Read(plaintext); err != nil {
		return nil, nil, nil, Internal("could not generate a data key")
	}
	blob, e := s.encryptUnder(k, plaintext, req.EncryptionContext)
	if e != nil {
		return nil, nil, nil, e
	}
	return k, plaintext, blob, nil
}

type generateRandomRequest struct {
	NumberOfBytes    *int32
	CustomKeyStoreId *string
	Recipient        any
}

func (s *Service) GenerateRandom(ctx context.Context, call Call, req *generateRandomRequest) (any, *awserr.Error) {
	if req.NumberOfBytes == nil {
		return nil, validation("numberOfBytes", "Member must not be null")
	}
	if e := checkRange("numberOfBytes", req.NumberOfBytes, 1, 1024); e != nil {
		return nil, e
	}
	if req.CustomKeyStoreId != nil {
		return nil, awserr.New("CustomKeyStoreNotFoundException", http.StatusBadRequest, "Custom key stores are not supported by this server.")
	}
	if req.Recipient != nil {
		return nil, awserr.New("UnsupportedOperationException", http.StatusBadRequest, "Recipient (Nitro Enclaves attestation) is not supported by this server.")
	}
	if e := s.authorizeAccount(call); e != nil {
		return nil, e
	}
	out := make([]byte, *req.NumberOfBytes)
	if _, err := s.rand().Read(out); err != nil {
		return nil, Internal("could not generate random bytes")
	}
	return map[string]any{"Plaintext": sensitive.Bytes(out)}, nil
}
