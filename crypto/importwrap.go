package crypto

import (
	stdcrypto "crypto"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"
	"io"

	// AES Key Wrap with Padding (RFC 5649), which Go's standard library
	// lacks; keyraft must not write its own.
	"github.com/tink-crypto/tink-go/v2/kwp/subtle"
)

// Wrapping of imported key material (AWS's GetParametersForImport and
// ImportKeyMaterial): the client encrypts its material under an RSA public
// key keyraft made, either directly with RSAES-OAEP or, for material too
// long for OAEP, under a fresh AES-256 key with AES Key Wrap with Padding,
// that AES key going under RSAES-OAEP in front of it (RSA_AES_KEY_WRAP_*).

// Wrapping algorithms, as AWS names them.
const (
	WrapOAEPSHA1       = "RSAES_OAEP_SHA_1"
	WrapOAEPSHA256     = "RSAES_OAEP_SHA_256"
	WrapAESKeyWrapSHA1 = "RSA_AES_KEY_WRAP_SHA_1"
	WrapAESKeyWrapSHA2 = "RSA_AES_KEY_WRAP_SHA_256"
)

// ErrUnwrap is every failure to unwrap imported material: it names no byte
// of the input, so a caller cannot learn which step failed (an OAEP
// padding oracle must not be offered).
var ErrUnwrap = errors.New("the wrapped key material could not be unwrapped")

// wrapAESKeySize is the AES key of RSA_AES_KEY_WRAP_*: AWS requires AES-256.
const wrapAESKeySize = 32

// GenerateWrappingKey makes an RSA wrapping key of bits (2048, 3072, 4096)
// and returns its private key as PKCS#8 DER, a secret the caller wipes.
func GenerateWrappingKey(bits int) ([]byte, error) {
	switch bits {
	case 2048, 3072, 4096:
	default:
		return nil, fmt.Errorf("%w: RSA wrapping key of %d bits", ErrUnsupportedKeySpec, bits)
	}
	k, err := rsa.GenerateKey(randOrDefault(nil), bits)
	if err != nil {
		return nil, err
	}
	return x509.MarshalPKCS8PrivateKey(k)
}

// ParseWrappingKey reads a wrapping private key made by GenerateWrappingKey.
func ParseWrappingKey(der []byte) (*rsa.PrivateKey, error) {
	k, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("%w: wrapping key", ErrMalformedKey)
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("%w: wrapping key is not RSA", ErrMalformedKey)
	}
	return rk, nil
}

// WrappingPublicKeyDER is the wrapping key's public half as DER
// SubjectPublicKeyInfo, the PublicKey GetParametersForImport returns.
func WrappingPublicKeyDER(priv *rsa.PrivateKey) ([]byte, error) {
	return x509.MarshalPKIXPublicKey(&priv.PublicKey)
}

func wrapHash(alg string) (stdcrypto.Hash, bool, error) {
	switch alg {
	case WrapOAEPSHA1:
		return stdcrypto.SHA1, false, nil
	case WrapOAEPSHA256:
		return stdcrypto.SHA256, false, nil
	case WrapAESKeyWrapSHA1:
		return stdcrypto.SHA1, true, nil
	case WrapAESKeyWrapSHA2:
		return stdcrypto.SHA256, true, nil
	}
	return 0, false, fmt.Errorf("%w: wrapping algorithm %q", ErrUnsupportedKeySpec, alg)
}

// UnwrapKeyMaterial recovers key material wrapped under priv with alg. The
// result is a secret the caller wipes. Every failure is ErrUnwrap.
func UnwrapKeyMaterial(priv *rsa.PrivateKey, alg string, wrapped []byte) ([]byte, error) {
	h, aesWrap, err := wrapHash(alg)
	if err != nil {
		return nil, err
	}
	size := priv.Size()
	if !aesWrap {
		if len(wrapped) != size {
			return nil, ErrUnwrap
		}
		m, err := rsa.DecryptOAEP(h.New(), nil, priv, wrapped, nil)
		if err != nil {
			return nil, ErrUnwrap
		}
		return m, nil
	}
	// RFC 5649 output is at least 16 bytes, a multiple of 8.
	if len(wrapped) < size+16 || (len(wrapped)-size)%8 != 0 {
		return nil, ErrUnwrap
	}
	aesKey, err := rsa.DecryptOAEP(h.New(), nil, priv, wrapped[:size], nil)
	if err != nil {
		return nil, ErrUnwrap
	}
	defer clear(aesKey)
	if len(aesKey) != wrapAESKeySize {
		return nil, ErrUnwrap
	}
	kwp, err := subtle.NewKWP(aesKey)
	if err != nil {
		return nil, ErrUnwrap
	}
	m, err := kwp.Unwrap(wrapped[size:])
	if err != nil {
		return nil, ErrUnwrap
	}
	return m, nil
}

// WrapKeyMaterial is UnwrapKeyMaterial's inverse with the public key: what
// a client does. keyraft itself never wraps; tests and tools do.
func WrapKeyMaterial(pub *rsa.PublicKey, alg string, material []byte, rand io.Reader) ([]byte, error) {
	h, aesWrap, err := wrapHash(alg)
	if err != nil {
		return nil, err
	}
	rand = randOrDefault(rand)
	if !aesWrap {
		return rsa.EncryptOAEP(h.New(), rand, pub, material, nil)
	}
	aesKey := make([]byte, wrapAESKeySize)
	defer clear(aesKey)
	if _, err := io.ReadFull(rand, aesKey); err != nil {
		return nil, err
	}
	head, err := rsa.EncryptOAEP(h.New(), rand, pub, aesKey, nil)
	if err != nil {
		return nil, err
	}
	kwp, err := subtle.NewKWP(aesKey)
	if err != nil {
		return nil, err
	}
	tail, err := kwp.Wrap(material)
	if err != nil {
		return nil, err
	}
	return append(head, tail...), nil
}
