package crypto

import (
	"encoding/binary"
	"maps"
	"slices"
)

// CanonicalContext encodes an encryption context deterministically and
// injectively: for each key in ascending byte order,
//
//	uint32 BE len(key) || key || uint32 BE len(value) || value
//
// Because every field is length-prefixed, two contexts encode to the same
// bytes exactly when they are equal as maps. A nil and an empty context both
// encode to zero bytes.
func CanonicalContext(encCtx map[string]string) []byte {
	if len(encCtx) == 0 {
		return []byte{}
	}
	size := 0
	for k, v := range encCtx {
		size += 8 + len(k) + len(v)
	}
	out := make([]byte, 0, size)
	for _, k := range slices.Sorted(maps.Keys(encCtx)) {
		out = appendField(out, k)
		out = appendField(out, encCtx[k])
	}
	return out
}

func appendField(b []byte, s string) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
	return append(b, s...)
}
