package crypto

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Blob layout constants; DESIGN.md describes the format.
const (
	blobMagic      = 'K'  // first byte of every blob
	blobVersion1   = 0x01 // second byte: format version
	maxKeyIDLen    = 255
	maxBlobSize    = 6144 // AWS KMS's CiphertextBlob limit
	minHeaderSize  = 2 + 1 + 1 + 4
	minBlobSize    = minHeaderSize + nonceSize + tagSize
	keyVersionSize = 4
)

// Header is the cleartext part of a ciphertext blob: which key, and which of
// its versions, sealed it. It is authenticated, not secret.
type Header struct {
	KeyID      string
	KeyVersion uint32
}

var (
	errKeyIDLen  = errors.New("crypto: key id must be 1 to 255 bytes")
	errBlobLarge = errors.New("crypto: plaintext too large for a 6144-byte ciphertext blob")
)

// appendHeader appends the encoded header; its bytes are also the first part
// of the blob's associated data.
func appendHeader(b []byte, h Header) []byte {
	b = append(b, blobMagic, blobVersion1, byte(len(h.KeyID)))
	b = append(b, h.KeyID...)
	return binary.BigEndian.AppendUint32(b, h.KeyVersion)
}

// EncryptBlob seals plaintext under key and returns a self-describing blob
// carrying h. The header bytes and CanonicalContext(encCtx) are bound as
// associated data, so the blob opens only with the same header and context.
// rand supplies the nonce (nil means crypto/rand.Reader).
func EncryptBlob(key []byte, h Header, plaintext []byte, encCtx map[string]string, rand io.Reader) ([]byte, error) {
	if len(h.KeyID) == 0 || len(h.KeyID) > maxKeyIDLen {
		return nil, errKeyIDLen
	}
	headerLen := minHeaderSize + len(h.KeyID) - 1
	if headerLen+nonceSize+len(plaintext)+tagSize > maxBlobSize {
		return nil, errBlobLarge
	}
	blob := appendHeader(make([]byte, 0, headerLen+nonceSize+len(plaintext)+tagSize), h)
	return appendSealAEAD(blob, key, plaintext, blobAAD(blob, encCtx), rand)
}

// ParseHeader reads the header of blob without a key. It checks the blob's
// structure (magic, version, key id length, minimum and maximum size) and
// returns ErrInvalidCiphertext, wrapped, when it is malformed. A nil error does
// not mean the blob is authentic; only DecryptBlob establishes that.
func ParseHeader(blob []byte) (Header, error) {
	h, _, err := splitBlob(blob)
	return h, err
}

// DecryptBlob authenticates and decrypts blob under key and encCtx, returning
// its header and plaintext. Every failure is or wraps ErrInvalidCiphertext.
func DecryptBlob(key []byte, blob []byte, encCtx map[string]string) (Header, []byte, error) {
	h, headerLen, err := splitBlob(blob)
	if err != nil {
		return Header{}, nil, err
	}
	plaintext, err := OpenAEAD(key, blob[headerLen:], blobAAD(blob[:headerLen], encCtx))
	if err != nil {
		return Header{}, nil, err
	}
	return h, plaintext, nil
}

// splitBlob parses the header and returns it with its encoded length.
func splitBlob(blob []byte) (Header, int, error) {
	switch {
	case len(blob) > maxBlobSize:
		return Header{}, 0, fmt.Errorf("%w: %d bytes exceeds %d", ErrInvalidCiphertext, len(blob), maxBlobSize)
	case len(blob) < minBlobSize:
		return Header{}, 0, fmt.Errorf("%w: %d bytes is too short", ErrInvalidCiphertext, len(blob))
	case blob[0] != blobMagic:
		return Header{}, 0, fmt.Errorf("%w: not a keyraft ciphertext", ErrInvalidCiphertext)
	case blob[1] != blobVersion1:
		return Header{}, 0, fmt.Errorf("%w: unknown format version %d", ErrInvalidCiphertext, blob[1])
	case blob[2] == 0:
		return Header{}, 0, fmt.Errorf("%w: empty key id", ErrInvalidCiphertext)
	}
	idEnd := 3 + int(blob[2])
	headerLen := idEnd + keyVersionSize
	if len(blob) < headerLen+nonceSize+tagSize {
		return Header{}, 0, fmt.Errorf("%w: truncated", ErrInvalidCiphertext)
	}
	h := Header{
		KeyID:      string(blob[3:idEnd]),
		KeyVersion: binary.BigEndian.Uint32(blob[idEnd:headerLen]),
	}
	return h, headerLen, nil
}

// blobAAD is header || CanonicalContext(encCtx). The header is self-delimiting,
// so the concatenation is injective.
func blobAAD(header []byte, encCtx map[string]string) []byte {
	ctx := CanonicalContext(encCtx)
	aad := make([]byte, 0, len(header)+len(ctx))
	return append(append(aad, header...), ctx...)
}
