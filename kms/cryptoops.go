package kms

import (
	"context"
	"errors"
	"net/http"

	"github.com/keyraft/keyraft/crypto"
	"github.com/keyraft/keyraft/fsm"
	"github.com/keyraft/keyraft/internal/awserr"
	"github.com/keyraft/keyraft/internal/sensitive"
)

const algSymmetric = "SYMMETRIC_DEFAULT"

// withMaterial runs fn with the unsealed material of one version of a key,
// opening it under the keyring on first use. fn runs under the cache's read
// lock, so DropSecrets cannot zero the material while fn is using it: a seal
// racing a request can fail it, never make it encrypt under a zeroed key.
func (s *Service) withMaterial(k *fsm.Key, version uint32, fn func(m []byte) *awserr.Error) *awserr.Error {
	path := materialPath(k.KeyID, version)
	if !s.materialPresent(k, version) {
		// Imported material deleted or expired: whatever this node cached
		// of it goes too, and nothing is done with it.
		s.dropImportedMaterial(k.KeyID)
		if k.Origin == fsm.OriginExternal && k.KeyState != fsm.StatePendingDeletion {
			return s.stateError(fsm.CmdUnknown, &fsm.KeyStateError{KeyID: k.KeyID, State: fsm.StatePendingImport})
		}
		return invalidCiphertext()
	}
	s.cacheMu.RLock()
	if m, ok := s.material[path]; ok {
		defer s.cacheMu.RUnlock()
		return fn(m)
	}
	s.cacheMu.RUnlock()

	var sealed []byte
	for _, km := range k.Material {
		if km.Version == version {
			sealed = km.Sealed
		}
	}
	if sealed == nil {
		return invalidCiphertext()
	}
	kr, e := s.keyring()
	if e != nil {
		return e
	}
	m, err := kr.Open(path, sealed)
	if err != nil {
		return Internal("key material could not be opened")
	}
	s.cacheMu.Lock()
	// Re-check the seal under the lock: DropSecrets may have run meanwhile,
	// and nothing may be cached after it.
	if _, err := s.Keyring(); err != nil {
		s.cacheMu.Unlock()
		clear(m)
		return Sealed()
	}
	if s.material == nil {
		s.material = map[string][]byte{}
	}
	if _, ok := s.material[path]; ok {
		clear(m) // another request cached it first
	} else {
		s.material[path] = m
		s.cachedSince = append(s.cachedSince, path)
	}
	s.cacheMu.Unlock()
	// Use the cached copy under the read lock, like every later request.
	return s.withMaterial(k, version, fn)
}

// materialPresent reports whether the state holds the key's material of version.
// materialPresent says whether a version of the key's material may be used
// now: held in state and, if imported with an expiry, not past its ValidTo.
// The leader's sweep deletes expired material every few seconds; checking
// here too means material is never used after its ValidTo, even between
// sweeps or while a new leader has not yet swept.
func (s *Service) materialPresent(k *fsm.Key, version uint32) bool {
	held := false
	for _, km := range k.Material {
		if km.Version == version {
			held = len(km.Sealed) != 0
		}
	}
	if !held {
		return false
	}
	for _, r := range k.Imports {
		if r.Version == version && !r.ValidTo.IsZero() && !s.now().Before(r.ValidTo) {
			return false
		}
	}
	return true
}

func checkContext(ctx map[string]string) *awserr.Error {
	for k := range ctx {
		if k == "" {
			return validation("encryptionContext", "Member must have keys of length greater than or equal to 1")
		}
	}
	return nil
}

func checkAlgorithm(alg *string) *awserr.Error {
	if alg == nil {
		return nil
	}
	// Whether the key takes it is encryptionAlgorithm's question, once the
	// key is known.
	return checkEnum("encryptionAlgorithm", *alg, "SYMMETRIC_DEFAULT", "RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256", "SM2PKE")
}

// encryptUnder seals plaintext under the key's current material.
func (s *Service) encryptUnder(k *fsm.Key, plaintext []byte, encCtx map[string]string) ([]byte, *awserr.Error) {
	v := k.CurrentVersion()
	var blob []byte
	e := s.withMaterial(k, v, func(m []byte) *awserr.Error {
		var err error
		blob, err = crypto.EncryptBlob(m, crypto.Header{KeyID: k.KeyID, KeyVersion: v}, plaintext, encCtx, s.rand())
		if err != nil {
			return Internal("encryption failed")
		}
		return nil
	})
	return blob, e
}

type encryptRequest struct {
	KeyId               string
	Plaintext           []byte
	EncryptionContext   map[string]string
	GrantTokens         []string
	EncryptionAlgorithm *string
	DryRun              bool
}

func (s *Service) Encrypt(ctx context.Context, call Call, req *encryptRequest) (any, *awserr.Error) {
	if e := firstErr(checkBlobLen("plaintext", req.Plaintext, 1, 4096), checkContext(req.EncryptionContext),
		checkGrantTokens(req.GrantTokens), checkAlgorithm(req.EncryptionAlgorithm)); e != nil {
		return nil, e
	}
	k, e := s.resolveKey("keyId", req.KeyId)
	if e != nil {
		return nil, e
	}
	if e := s.authorizeWith(call, k, req.EncryptionContext, req.GrantTokens, encryptionAlg(req.EncryptionAlgorithm)); e != nil {
		return nil, e
	}
	if e := s.usable(k); e != nil {
		return nil, e
	}
	alg, e := s.encryptionAlgorithm(k, req.EncryptionAlgorithm, call.Op)
	if e != nil {
		return nil, e
	}
	defer clear(req.Plaintext)
	if req.DryRun {
		return nil, dryRunSucceeded()
	}
	blob, e := s.encryptWith(k, alg, req.Plaintext, req.EncryptionContext, "encryptionContext")
	if e != nil {
		return nil, e
	}
	return map[string]any{"CiphertextBlob": blob, "KeyId": s.arn(k.KeyID), "EncryptionAlgorithm": alg}, nil
}

// encryptWith encrypts under k with alg (checked by encryptionAlgorithm):
// a keyraft blob for a symmetric key, raw OAEP for an RSA key.
func (s *Service) encryptWith(k *fsm.Key, alg string, plaintext []byte, encCtx map[string]string, ctxField string) ([]byte, *awserr.Error) {
	if alg == algSymmetric {
		return s.encryptUnder(k, plaintext, encCtx)
	}
	if e := noContextForRSA(ctxField, encCtx); e != nil {
		return nil, e
	}
	return s.rsaEncrypt(k, alg, plaintext)
}

type decryptRequest struct {
	CiphertextBlob      []byte
	EncryptionContext   map[string]string
	GrantTokens         []string
	KeyId               *string
	EncryptionAlgorithm *string
	DryRun              bool
}

func (s *Service) Decrypt(ctx context.Context, call Call, req *decryptRequest) (any, *awserr.Error) {
	if e := firstErr(checkGrantTokens(req.GrantTokens), checkAlgorithm(req.EncryptionAlgorithm)); e != nil {
		return nil, e
	}
	k, plaintext, alg, e := s.open(call, "Decrypt", req.GrantTokens, req.CiphertextBlob, req.EncryptionContext, req.KeyId, req.EncryptionAlgorithm, "ciphertextBlob", "keyId", "encryptionContext")
	if e != nil {
		return nil, e
	}
	if req.DryRun {
		// Checked after the ciphertext opened, so a dry run reports what
		// the real call would; the plaintext is dropped unseen.
		clear(plaintext)
		return nil, dryRunSucceeded()
	}
	return map[string]any{"KeyId": s.arn(k.KeyID), "Plaintext": sensitive.Bytes(plaintext), "EncryptionAlgorithm": alg}, nil
}

// open decrypts a ciphertext blob: the blob names its key; a key named by
// the caller must be that key (IncorrectKeyException otherwise). grantOp is
// the permission checked on that key (Decrypt or ReEncryptFrom). A raw OAEP
// ciphertext names no key, so it opens only when the caller names an RSA
// key (as AWS requires KeyId for asymmetric ciphertexts). It returns the
// algorithm that opened the blob.
func (s *Service) open(call Call, grantOp string, grantTokens []string, blob []byte, encCtx map[string]string, keyRef, algRef *string, blobField, keyField, ctxField string) (*fsm.Key, []byte, string, *awserr.Error) {
	k, pt, e := s.openBlob(call, grantOp, grantTokens, blob, encCtx, keyRef, algRef, blobField, keyField, ctxField)
	if e != nil {
		return nil, nil, "", e
	}
	alg := algSymmetric
	if k.KeySpec != specSymmetric {
		alg = *algRef // encryptionAlgorithm refuses an RSA key without one
	}
	return k, pt, alg, nil
}

func (s *Service) openBlob(call Call, grantOp string, grantTokens []string, blob []byte, encCtx map[string]string, keyRef, algRef *string, blobField, keyField, ctxField string) (*fsm.Key, []byte, *awserr.Error) {
	if e := firstErr(checkBlobLen(blobField, blob, 1, 6144), checkContext(encCtx)); e != nil {
		return nil, nil, e
	}
	if keyRef != nil {
		named, e := s.resolveKey(keyField, *keyRef)
		if e != nil {
			return nil, nil, e
		}
		if keySpecs[named.KeySpec].asymmetric {
			return s.openRSA(call, grantOp, grantTokens, named, blob, encCtx, algRef, ctxField)
		}
	}
	hdr, err := crypto.ParseHeader(blob)
	if err != nil {
		return nil, nil, invalidCiphertext()
	}
	k, ok := s.State.Key(hdr.KeyID)
	if keyRef != nil {
		named, e := s.resolveKey(keyField, *keyRef)
		if e != nil {
			return nil, nil, e
		}
		if !ok || named.KeyID != hdr.KeyID {
			return nil, nil, awserr.New("IncorrectKeyException", http.StatusBadRequest,
				"The key ID in the request does not identify a CMK that can perform this operation.")
		}
	}
	if !ok {
		return nil, nil, invalidCiphertext()
	}
	if e := s.authorizeAction(call, "kms:"+grantOp, grantOp, k, encCtx, grantTokens); e != nil {
		return nil, nil, e
	}
	if e := s.usable(k); e != nil {
		return nil, nil, e
	}
	if _, e := s.encryptionAlgorithm(k, algRef, call.Op); e != nil {
		return nil, nil, e
	}
	if k.KeySpec != specSymmetric {
		// A keyraft blob is never made under an asymmetric key; one naming
		// such a key is forged, and its material is no AES key.
		return nil, nil, invalidCiphertext()
	}
	var plaintext []byte
	e := s.withMaterial(k, hdr.KeyVersion, func(m []byte) *awserr.Error {
		var err error
		_, plaintext, err = crypto.DecryptBlob(m, blob, encCtx)
		switch {
		case errors.Is(err, crypto.ErrInvalidCiphertext):
			return invalidCiphertext()
		case err != nil:
			return Internal("decryption failed")
		}
		return nil
	})
	if e != nil {
		return nil, nil, e
	}
	return k, plaintext, nil
}

type reEncryptRequest struct {
	CiphertextBlob                 []byte
	SourceEncryptionContext        map[string]string
	SourceKeyId                    *string
	DestinationKeyId               string
	DestinationEncryptionContext   map[string]string
	SourceEncryptionAlgorithm      *string
	DestinationEncryptionAlgorithm *string
	GrantTokens                    []string
	DryRun                         bool
}

func (s *Service) ReEncrypt(ctx context.Context, call Call, req *reEncryptRequest) (any, *awserr.Error) {
	if e := firstErr(checkGrantTokens(req.GrantTokens), checkAlgorithm(req.SourceEncryptionAlgorithm),
		checkAlgorithm(req.DestinationEncryptionAlgorithm), checkContext(req.DestinationEncryptionContext)); e != nil {
		return nil, e
	}
	dst, e := s.resolveKey("destinationKeyId", req.DestinationKeyId)
	if e != nil {
		return nil, e
	}
	if e := s.authorizeActionWith(call, "kms:ReEncryptTo", "ReEncryptTo", dst, req.DestinationEncryptionContext, req.GrantTokens, encryptionAlg(req.DestinationEncryptionAlgorithm)); e != nil {
		return nil, e
	}
	src, plaintext, srcAlg, e := s.open(call, "ReEncryptFrom", req.GrantTokens, req.CiphertextBlob, req.SourceEncryptionContext, req.SourceKeyId, req.SourceEncryptionAlgorithm, "ciphertextBlob", "sourceKeyId", "sourceEncryptionContext")
	if e != nil {
		return nil, e
	}
	defer clear(plaintext)
	if e := s.usable(dst); e != nil {
		return nil, e
	}
	dstAlg, e := s.encryptionAlgorithm(dst, req.DestinationEncryptionAlgorithm, call.Op)
	if e != nil {
		return nil, e
	}
	if req.DryRun {
		return nil, dryRunSucceeded()
	}
	blob, e := s.encryptWith(dst, dstAlg, plaintext, req.DestinationEncryptionContext, "destinationEncryptionContext")
	if e != nil {
		return nil, e
	}
	return map[string]any{
		"CiphertextBlob": blob, "SourceKeyId": s.arn(src.KeyID), "KeyId": s.arn(dst.KeyID),
		"SourceEncryptionAlgorithm": srcAlg, "DestinationEncryptionAlgorithm": dstAlg,
	}, nil
}

func firstErr(errs ...*awserr.Error) *awserr.Error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}
