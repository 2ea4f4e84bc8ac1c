package wipe

import (
	"crypto/hmac"
	"hash"
	"reflect"
)

// Deep zeroes every number reachable from v, through pointers, interfaces,
// slices (up to their capacity), arrays and struct fields, unexported ones
// included, and leaves the pointers themselves in place: the garbage
// collector sees the same references, but the memory behind them holds
// nothing. It is for standard library values that keep secrets behind
// pointers, such as the HMAC crypto/hmac returns (its padded keys, or the
// SHA-256 states after them, in slices; its two hash states behind
// interfaces), which Pointee refuses.
//
// v must be a non-nil pointer, possibly behind an interface. If anything
// reachable from it is a map, channel, function, string or unsafe pointer,
// or a number Deep could not write (one held by value in an interface),
// nothing is changed and Deep returns false, so a change of the standard
// library's layout is reported, never half-wiped. Memory shared with other
// values (a slice's backing array, a pointee) is zeroed for them too: the
// value must not be used afterwards.
func Deep(v any) bool {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return false
	}
	if !deep(rv, false, map[visit]bool{}) {
		return false
	}
	deep(rv, true, map[visit]bool{})
	return true
}

// visit names one pointer or slice followed, so that shared and cyclic
// structures are walked once.
type visit struct {
	addr uintptr
	typ  reflect.Type
	n    int
}

// deep checks (zero false) or zeroes (zero true) what v reaches.
func deep(v reflect.Value, zero bool, seen map[visit]bool) bool {
	switch v.Kind() {
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64, reflect.Complex64, reflect.Complex128:
		return set(v, zero)
	case reflect.Array:
		if pointerFree(v.Type()) {
			return set(v, zero)
		}
		for i := range v.Len() {
			if !deep(v.Index(i), zero, seen) {
				return false
			}
		}
		return true
	case reflect.Struct:
		for i := range v.NumField() {
			if !deep(v.Field(i), zero, seen) {
				return false
			}
		}
		return true
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return true
		}
		if v.Kind() == reflect.Pointer {
			k := visit{v.Pointer(), v.Type(), -1}
			if seen[k] {
				return true
			}
			seen[k] = true
		}
		return deep(v.Elem(), zero, seen)
	case reflect.Slice:
		if v.IsNil() || v.Cap() == 0 {
			return true
		}
		// What lies between length and capacity was written once too
		// (a buffer appended to, then cut).
		all := v.Slice(0, v.Cap())
		k := visit{all.Pointer(), all.Type(), all.Len()}
		if seen[k] {
			return true
		}
		seen[k] = true
		for i := range all.Len() {
			if !deep(all.Index(i), zero, seen) {
				return false
			}
		}
		return true
	default:
		return false
	}
}

// set zeroes v, a pointer-free value, if zero is true; it reports whether v
// can be written. A value reached through an unexported field is read-only
// to reflect, so it is written through a fresh reflect.Value of its
// address.
func set(v reflect.Value, zero bool) bool {
	if !v.CanAddr() {
		return false
	}
	if zero {
		reflect.NewAt(v.Type(), v.Addr().UnsafePointer()).Elem().SetZero()
	}
	return true
}

// NewHMAC is hmac.New(h, key), made so that Deep can reach every copy of
// key it keeps. crypto/hmac keeps key XOR ipad and key XOR opad in two
// slices until its first Reset, which replaces them with the hash states
// after them (sparing later Resets a block each) and drops the slices
// unzeroed. NewHMAC makes that first Reset itself, with a clone holding on
// to the slices, then zeroes the clone. The HMAC it returns is reset, ready
// for Write; its Reset and Sum keep the slices they have, so Deep of it
// leaves no copy of key behind. ok is false if the dropped slices could not
// be zeroed (h's HMAC cannot be cloned, or Deep refuses it); the HMAC works
// all the same.
//
// A key longer than h's block size is hashed by hmac.New into a buffer it
// drops, which nothing reaches: such keys are not for NewHMAC.
func NewHMAC(h func() hash.Hash, key []byte) (m hash.Hash, ok bool) {
	m = hmac.New(h, key)
	c, ok := m.(hash.Cloner)
	if !ok {
		return m, false
	}
	pads, err := c.Clone()
	if err != nil {
		return m, false
	}
	m.Reset()
	return m, Deep(pads)
}
