// Package wipe zeroes memory that may hold secrets where Go gives no way to
// clear it: the values the standard library keeps secrets in (an AES key
// schedule, a GCM instance, a SHA-256 state: Pointee; an HMAC: Deep,
// NewHMAC), and the free memory of the heap and of goroutine stacks (Heap).
// Go's garbage collector does not zero what it frees (and with mlockall the
// pages are never returned to the system either), so a secret left in a
// dropped object stays readable in the process's memory until the
// allocator happens to reuse the slot. See DESIGN.md.
package wipe

import "reflect"

// Pointee zeroes the value v points to and reports whether it could. v must
// be a non-nil pointer (possibly behind an interface such as cipher.Block or
// hash.Hash) to a value that holds no pointers, only numbers and arrays and
// structs of them; anything else is left alone and Pointee returns false,
// so a change of the standard library's layout is reported, never
// half-wiped. Callers test the types they rely on (see the tests of the
// packages that use it).
func Pointee(v any) bool {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() || !pointerFree(rv.Type().Elem()) {
		return false
	}
	// Elem of a pointer is settable even when its type is unexported; only
	// values reached through unexported fields are read-only.
	rv.Elem().SetZero()
	return true
}

// pointerFree reports whether t holds no pointers, so that zeroing it
// cannot change what the garbage collector sees as reachable.
func pointerFree(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64, reflect.Complex64, reflect.Complex128:
		return true
	case reflect.Array:
		return pointerFree(t.Elem())
	case reflect.Struct:
		for i := range t.NumField() {
			if !pointerFree(t.Field(i).Type) {
				return false
			}
		}
		return true
	default:
		return false
	}
}
