package kms

import (
	"crypto/rsa"
	"errors"
	"net/http"
	"slices"

	"github.com/keyraft/keyraft/crypto"
	"github.com/keyraft/keyraft/fsm"
	"github.com/keyraft/keyraft/internal/awserr"
)

// RSA encryption keys: Encrypt, Decrypt and ReEncrypt with RSAES-OAEP. The
// ciphertext is the raw OAEP block (crypto.RSAEncryptOAEP), as AWS returns
// it, so data encrypted offline under GetPublicKey's key decrypts here. It
// names no key, which is why Decrypt needs KeyId for it, as AWS requires.

// encryptionAlgorithm checks the request's EncryptionAlgorithm (already
// enum-checked) against the key it would use and returns the algorithm the
// operation runs. Symmetric keys default to SYMMETRIC_DEFAULT; RSA keys have
// no default, as in AWS, so a missing algorithm is SYMMETRIC_DEFAULT and
// incompatible.
func (s *Service) encryptionAlgorithm(k *fsm.Key, alg *string, op string) (string, *awserr.Error) {
	if k.KeyUsage != usageEncrypt {
		return "", s.wrongUsage(k.KeyID, k.KeyUsage, op)
	}
	name := algSymmetric
	if alg != nil {
		name = *alg
	}
	if k.KeySpec == specSymmetric {
		if name != algSymmetric {
			return "", awserr.New("InvalidKeyUsageException", http.StatusBadRequest, "The encryption algorithm %s is not supported by a symmetric key.", name)
		}
		return name, nil
	}
	if !slices.Contains(algorithmsOf(k.KeySpec, usageEncrypt), name) {
		return "", incompatibleAlgorithm(name, k.KeySpec)
	}
	return name, nil
}

// noContextForRSA refuses an encryption context with an RSA key: OAEP
// here has no label, so the context could not be bound to the ciphertext,
// and accepting it would let a caller believe it was.
func noContextForRSA(field string, encCtx map[string]string) *awserr.Error {
	if len(encCtx) > 0 {
		return awserr.New("ValidationException", http.StatusBadRequest,
			"1 validation error detected: Value at '%s' failed to satisfy constraint: an encryption context is not supported with asymmetric KMS keys", field)
	}
	return nil
}

// withPrivateKey runs fn with the key's parsed private key, from the same
// cache as signing keys (withSigningKey): parsed once, dropped and wiped on
// seal, rather than parsed from the PKCS#8 on every call.
func (s *Service) withPrivateKey(k *fsm.Key, fn func(pk *crypto.PrivateKey) *awserr.Error) *awserr.Error {
	return s.withSigningKey(k, func(sk *crypto.SigningKey) *awserr.Error { return fn(sk.Private()) })
}

func (s *Service) withRSAKey(k *fsm.Key, fn func(priv *rsa.PrivateKey) *awserr.Error) *awserr.Error {
	return s.withPrivateKey(k, func(pk *crypto.PrivateKey) *awserr.Error {
		priv, ok := pk.Key.(*rsa.PrivateKey)
		if !ok {
			return Internal("key material is not an RSA key")
		}
		return fn(priv)
	})
}

// rsaEncrypt encrypts plaintext under an RSA key with alg, refusing more
// plaintext than AWS's limit for the key's size and hash.
func (s *Service) rsaEncrypt(k *fsm.Key, alg string, plaintext []byte) ([]byte, *awserr.Error) {
	limit, err := crypto.OAEPMaxPlaintext(crypto.KeySpec(k.KeySpec), crypto.EncryptionAlgorithm(alg))
	if err != nil {
		return nil, Internal("no plaintext limit for this key")
	}
	if len(plaintext) > limit {
		return nil, awserr.New("ValidationException", http.StatusBadRequest,
			"Plaintext length %d exceeds the maximum of %d bytes for %s with key spec %s.", len(plaintext), limit, alg, k.KeySpec)
	}
	var ct []byte
	e := s.withRSAKey(k, func(priv *rsa.PrivateKey) *awserr.Error {
		var err error
		if ct, err = crypto.RSAEncryptOAEP(&priv.PublicKey, crypto.EncryptionAlgorithm(alg), plaintext, s.rand()); err != nil {
			return Internal("encryption failed")
		}
		return nil
	})
	return ct, e
}

// rsaDecrypt opens a raw OAEP ciphertext. Every failure is the same
// InvalidCiphertextException: a distinguishable padding error would be
// Manger's oracle.
func (s *Service) rsaDecrypt(k *fsm.Key, alg string, ciphertext []byte) ([]byte, *awserr.Error) {
	var pt []byte
	e := s.withRSAKey(k, func(priv *rsa.PrivateKey) *awserr.Error {
		var err error
		pt, err = crypto.RSADecryptOAEP(priv, crypto.EncryptionAlgorithm(alg), ciphertext)
		switch {
		case errors.Is(err, crypto.ErrInvalidCiphertext):
			return invalidCiphertext()
		case err != nil:
			return Internal("decryption failed")
		}
		return nil
	})
	return pt, e
}

// openRSA is open for a caller-named asymmetric key: the blob is a raw
// OAEP ciphertext.
func (s *Service) openRSA(call Call, grantOp string, grantTokens []string, k *fsm.Key, blob []byte, encCtx map[string]string, algRef *string, ctxField string) (*fsm.Key, []byte, *awserr.Error) {
	if e := s.authorizeActionWith(call, "kms:"+grantOp, grantOp, k, encCtx, grantTokens, encryptionAlg(algRef)); e != nil {
		return nil, nil, e
	}
	if e := s.usable(k); e != nil {
		return nil, nil, e
	}
	alg, e := s.encryptionAlgorithm(k, algRef, call.Op)
	if e != nil {
		return nil, nil, e
	}
	if e := noContextForRSA(ctxField, encCtx); e != nil {
		return nil, nil, e
	}
	pt, e := s.rsaDecrypt(k, alg, blob)
	if e != nil {
		return nil, nil, e
	}
	return k, pt, nil
}
