package crypto

import (
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"
)

// The standard library's x509 knows no secp256k1, so its keys are encoded
// here: PKCS#8 (RFC 5208) wrapping an ECPrivateKey (RFC 5915), and
// SubjectPublicKeyInfo (RFC 5480) with the uncompressed point, both naming
// the curve by its OID as OpenSSL and AWS do. Only the encodings are ours;
// every operation on the curve is decred's.

var (
	oidECPublicKey = asn1.ObjectIdentifier{1, 2, 840, 10045, 2, 1}
	oidSecp256k1   = asn1.ObjectIdentifier{1, 3, 132, 0, 10}
)

var errSecp256k1Key = errors.New("crypto: malformed secp256k1 private key")

type pkcs8 struct {
	Version    int
	Algo       pkix.AlgorithmIdentifier
	PrivateKey []byte
}

type ecPrivateKey struct {
	Version    int
	PrivateKey []byte
	Curve      asn1.ObjectIdentifier `asn1:"optional,explicit,tag:0"`
	PublicKey  asn1.BitString        `asn1:"optional,explicit,tag:1"`
}

type spki struct {
	Algo      pkix.AlgorithmIdentifier
	PublicKey asn1.BitString
}

func secp256k1Algo() pkix.AlgorithmIdentifier {
	curve, _ := asn1.Marshal(oidSecp256k1)
	return pkix.AlgorithmIdentifier{Algorithm: oidECPublicKey, Parameters: asn1.RawValue{FullBytes: curve}}
}

func marshalSecp256k1PKCS8(k *secp256k1.PrivateKey) ([]byte, error) {
	scalar := k.Serialize()
	defer clear(scalar)
	pub := k.PubKey().SerializeUncompressed()
	inner, err := asn1.Marshal(ecPrivateKey{
		Version: 1, PrivateKey: scalar,
		PublicKey: asn1.BitString{Bytes: pub, BitLength: 8 * len(pub)},
	})
	if err != nil {
		return nil, err
	}
	defer clear(inner)
	return asn1.Marshal(pkcs8{Algo: secp256k1Algo(), PrivateKey: inner})
}

// parseSecp256k1PKCS8 reads der if it is a PKCS#8 secp256k1 key: ok says
// whether it names that curve (the caller tries x509 otherwise), err
// whether it is well-formed.
func parseSecp256k1PKCS8(der []byte) (k *secp256k1.PrivateKey, ok bool, err error) {
	var p pkcs8
	if rest, err := asn1.Unmarshal(der, &p); err != nil || len(rest) != 0 {
		return nil, false, nil
	}
	var curve asn1.ObjectIdentifier
	if !p.Algo.Algorithm.Equal(oidECPublicKey) {
		return nil, false, nil
	}
	if rest, err := asn1.Unmarshal(p.Algo.Parameters.FullBytes, &curve); err != nil || len(rest) != 0 || !curve.Equal(oidSecp256k1) {
		return nil, false, nil
	}
	var ec ecPrivateKey
	if rest, err := asn1.Unmarshal(p.PrivateKey, &ec); err != nil || len(rest) != 0 {
		return nil, true, errSecp256k1Key
	}
	defer clear(ec.PrivateKey)
	if p.Version != 0 || ec.Version != 1 || len(ec.PrivateKey) != 32 {
		return nil, true, errSecp256k1Key
	}
	var s secp256k1.ModNScalar
	if overflow := s.SetByteSlice(ec.PrivateKey); overflow || s.IsZero() {
		return nil, true, errSecp256k1Key
	}
	key := secp256k1.NewPrivateKey(&s)
	s.Zero()
	if len(ec.PublicKey.Bytes) > 0 {
		if pub, err := secp256k1.ParsePubKey(ec.PublicKey.Bytes); err != nil || !pub.IsEqual(key.PubKey()) {
			key.Zero()
			return nil, true, errSecp256k1Key
		}
	}
	return key, true, nil
}

func marshalSecp256k1SPKI(pub *secp256k1.PublicKey) ([]byte, error) {
	point := pub.SerializeUncompressed()
	return asn1.Marshal(spki{Algo: secp256k1Algo(), PublicKey: asn1.BitString{Bytes: point, BitLength: 8 * len(point)}})
}

// asn1Unmarshal is encoding/asn1's Unmarshal refusing trailing bytes.
func asn1Unmarshal(der []byte, v any) ([]byte, error) {
	rest, err := asn1.Unmarshal(der, v)
	if err == nil && len(rest) != 0 {
		return rest, errors.New("crypto: trailing bytes after DER")
	}
	return rest, err
}
