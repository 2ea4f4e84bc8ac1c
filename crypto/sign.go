package crypto

import (
	stdcrypto "crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"errors"
	"io"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"
	secpecdsa "github.com/decred/dcrd/dcrec/secp256k1/v4/ecdsa"
)

// Asymmetric signing. A private key travels as PKCS#8 DER (what the barrier
// seals; ParsePrivateKey/MarshalPrivateKey in pkcs8.go, including
// secp256k1's encoding, which the standard library lacks); its public half
// as DER SubjectPublicKeyInfo (what GetPublicKey answers). RSA, the NIST
// curves and Ed25519 sign with the standard library, secp256k1 with
// decred's maintained module.

// Scheme is how a signature is made from a (hashed) message.
type Scheme int

const (
	SchemePSS       Scheme = iota + 1 // RSASSA-PSS, MGF1 with the same hash, salt the hash's length
	SchemePKCS1v15                    // RSASSA-PKCS1-v1_5
	SchemeECDSA                       // ECDSA, DER-encoded (r, s)
	SchemeEd25519                     // PureEdDSA over the message itself
	SchemeEd25519ph                   // HashEdDSA (RFC 8032 Ed25519ph) over SHA-512 of the message
	SchemeMLDSA                       // pure ML-DSA (FIPS 204), empty context, over the message itself
)

// SigAlg is one signing algorithm: its scheme and the hash it begins with.
type SigAlg struct {
	Scheme Scheme
	Hash   stdcrypto.Hash
}

// errKeyKind reports a key that does not fit the algorithm asked of it.
var errKeyKind = errors.New("crypto: the key does not fit the algorithm")

// GenerateSigningKey makes a private key of spec and returns it as PKCS#8
// DER.
func GenerateSigningKey(spec KeySpec, rand io.Reader) ([]byte, error) {
	priv, _, err := GenerateDataKeyPair(spec, rand)
	return priv, err
}

// SigningKey is a parsed private key. It lives as long as the caller keeps
// it (kms caches it beside the unsealed material and drops it on seal).
//
// ML-DSA and ML-KEM keys are held here too (their seed, []byte), so that
// kms keeps one cache and one path for every asymmetric key: ML-DSA signs
// through Sign/Verify, ML-KEM through Encapsulate/Decapsulate.
type SigningKey struct {
	pk   *PrivateKey
	priv any // pk.Key: *rsa.PrivateKey, *ecdsa.PrivateKey, ed25519.PrivateKey, *secp256k1.PrivateKey, []byte (PQ seed)
	// pqPub is a post-quantum key's raw public key (FIPS 204/203), derived
	// once at parse so Verify and Encapsulate need not expand the seed.
	pqPub []byte
}

// ParseSigningKey reads a PKCS#8 DER private key of a signing spec.
func ParseSigningKey(der []byte) (*SigningKey, error) {
	pk, err := ParsePrivateKey(der)
	if err != nil {
		return nil, err
	}
	switch pk.Key.(type) {
	case *rsa.PrivateKey, *ecdsa.PrivateKey, ed25519.PrivateKey, *secp256k1.PrivateKey:
		return &SigningKey{pk: pk, priv: pk.Key}, nil
	case []byte:
		if isMLDSA(pk.Spec) || isMLKEM(pk.Spec) {
			pub, err := pk.Public()
			if err != nil {
				pk.Wipe()
				return nil, err
			}
			return &SigningKey{pk: pk, priv: pk.Key, pqPub: pub.Key.([]byte)}, nil
		}
	}
	pk.Wipe()
	return nil, errKeyKind
}

// Zero clears what of the key Go lets be reached (PrivateKey.Wipe).
func (k *SigningKey) Zero() { k.pk.Wipe() }

// Private is the parsed key itself, for the operations that are not
// signing (RSA decryption, ECDH); it lives as long as k.
func (k *SigningKey) Private() *PrivateKey { return k.pk }

// PublicKeyDER is the key's public half as DER SubjectPublicKeyInfo.
func (k *SigningKey) PublicKeyDER() ([]byte, error) { return k.pk.PublicKeyDER() }

// prehash is the value the scheme signs: the message's hash, or the
// message itself when the caller already hashed it (isDigest). The caller
// checks a digest's length.
func prehash(alg SigAlg, msg []byte, isDigest bool) []byte {
	if isDigest {
		return msg
	}
	h := alg.Hash.New()
	h.Write(msg)
	return h.Sum(nil)
}

// Sign signs msg (or, isDigest, its hash) with alg.
//
// Ed25519ph follows AWS: the caller's 64-byte SHA-512 digest is the message
// of HashEdDSA, which hashes it again, so the signature verifies as
// Ed25519ph over the digest's bytes.
func (k *SigningKey) Sign(alg SigAlg, msg []byte, isDigest bool, rand io.Reader) ([]byte, error) {
	rand = randOrDefault(rand)
	switch p := k.priv.(type) {
	case *rsa.PrivateKey:
		h := prehash(alg, msg, isDigest)
		switch alg.Scheme {
		case SchemePSS:
			return rsa.SignPSS(rand, p, alg.Hash, h, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
		case SchemePKCS1v15:
			return rsa.SignPKCS1v15(rand, p, alg.Hash, h)
		}
	case *ecdsa.PrivateKey:
		if alg.Scheme == SchemeECDSA {
			return ecdsa.SignASN1(rand, p, prehash(alg, msg, isDigest))
		}
	case *secp256k1.PrivateKey:
		if alg.Scheme == SchemeECDSA {
			return secpecdsa.Sign(p, prehash(alg, msg, isDigest)).Serialize(), nil
		}
	case ed25519.PrivateKey:
		switch alg.Scheme {
		case SchemeEd25519:
			return ed25519.Sign(p, msg), nil
		case SchemeEd25519ph:
			h := prehash(SigAlg{Hash: stdcrypto.SHA512}, msg, false)
			return p.Sign(nil, h, &ed25519.Options{Hash: stdcrypto.SHA512})
		}
	case []byte:
		// ML-DSA draws its hedging randomness from crypto/rand
		// (crypto/mldsa ignores a reader); kms refuses DIGEST for it, so
		// isDigest is false.
		if alg.Scheme == SchemeMLDSA && isMLDSA(k.pk.Spec) && !isDigest {
			return MLDSASign(k.pk.Spec, p, msg, MessageRaw)
		}
	}
	return nil, errKeyKind
}

// SignExternalMu signs μ, a 64-byte ML-DSA message representative the
// caller computed (AWS's MessageType EXTERNAL_MU), with an ML-DSA key.
func (k *SigningKey) SignExternalMu(mu []byte) ([]byte, error) {
	seed, ok := k.priv.([]byte)
	if !ok || !isMLDSA(k.pk.Spec) {
		return nil, errKeyKind
	}
	return MLDSASign(k.pk.Spec, seed, mu, MessageExternalMu)
}

// Verify checks sig over msg (or its hash) with the key's public half. Every
// failure, a malformed signature included, is ErrInvalidSignature.
func (k *SigningKey) Verify(alg SigAlg, msg []byte, isDigest bool, sig []byte) error {
	ok := false
	switch p := k.priv.(type) {
	case *rsa.PrivateKey:
		h := prehash(alg, msg, isDigest)
		switch alg.Scheme {
		case SchemePSS:
			// Any salt length verifies: a signature made offline (OpenSSL
			// signs with the longest salt by default) is as sound.
			ok = rsa.VerifyPSS(&p.PublicKey, alg.Hash, h, sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthAuto}) == nil
		case SchemePKCS1v15:
			ok = rsa.VerifyPKCS1v15(&p.PublicKey, alg.Hash, h, sig) == nil
		default:
			return errKeyKind
		}
	case *ecdsa.PrivateKey:
		if alg.Scheme != SchemeECDSA {
			return errKeyKind
		}
		ok = ecdsa.VerifyASN1(&p.PublicKey, prehash(alg, msg, isDigest), sig)
	case *secp256k1.PrivateKey:
		if alg.Scheme != SchemeECDSA {
			return errKeyKind
		}
		s, err := secpecdsa.ParseDERSignature(sig)
		ok = err == nil && s.Verify(prehash(alg, msg, isDigest), p.PubKey())
	case ed25519.PrivateKey:
		pub := p.Public().(ed25519.PublicKey)
		switch alg.Scheme {
		case SchemeEd25519:
			ok = ed25519.Verify(pub, msg, sig)
		case SchemeEd25519ph:
			h := prehash(SigAlg{Hash: stdcrypto.SHA512}, msg, false)
			ok = ed25519.VerifyWithOptions(pub, h, sig, &ed25519.Options{Hash: stdcrypto.SHA512}) == nil
		default:
			return errKeyKind
		}
	case []byte:
		if alg.Scheme != SchemeMLDSA || !isMLDSA(k.pk.Spec) || isDigest {
			return errKeyKind
		}
		return MLDSAVerify(k.pk.Spec, k.pqPub, msg, sig, MessageRaw)
	default:
		return errKeyKind
	}
	if !ok {
		return ErrInvalidSignature
	}
	return nil
}

// Encapsulate makes a fresh shared secret and its ciphertext under an
// ML-KEM key's public half (MLKEMEncapsulate).
func (k *SigningKey) Encapsulate() (sharedSecret, ciphertext []byte, err error) {
	if !isMLKEM(k.pk.Spec) {
		return nil, nil, errKeyKind
	}
	return MLKEMEncapsulate(k.pk.Spec, k.pqPub)
}

// Decapsulate recovers the shared secret of ciphertext with an ML-KEM key
// (MLKEMDecapsulate: only a wrong length is ErrInvalidCiphertext).
func (k *SigningKey) Decapsulate(ciphertext []byte) ([]byte, error) {
	seed, ok := k.priv.([]byte)
	if !ok || !isMLKEM(k.pk.Spec) {
		return nil, errKeyKind
	}
	return MLKEMDecapsulate(k.pk.Spec, seed, ciphertext)
}
