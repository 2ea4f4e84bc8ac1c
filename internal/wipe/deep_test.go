package wipe

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"reflect"
	"testing"
	"unsafe"
)

// TestDeepStdlibHMAC: crypto/hmac's HMAC, fresh (padded keys) and reset
// (the SHA-256 states after them), is wiped whole, through its slices and
// interfaces, and only its memory is. This fails if a Go release gives it a
// map, a string or a function, or holds a number where Deep cannot write.
func TestDeepStdlibHMAC(t *testing.T) {
	key := bytes.Repeat([]byte{0xa7}, 32)
	for _, reset := range []bool{false, true} {
		m := hmac.New(sha256.New, key)
		if reset {
			m.Reset()
		}
		m.Write([]byte("message"))
		mem := memoryOf(t, reflect.ValueOf(m))
		if len(mem) < 4 || allZero(mem) {
			t.Fatalf("reset %v: %T reaches %d regions, all zero before the wipe", reset, m, len(mem))
		}
		other := hmac.New(sha256.New, key)
		if !Deep(m) {
			t.Fatalf("reset %v: %T could not be wiped", reset, m)
		}
		if !allZero(mem) {
			t.Errorf("reset %v: %T holds non-zero bytes after the wipe", reset, m)
		}
		if reflect.ValueOf(m).IsNil() {
			t.Error("the wipe dropped the pointer")
		}
		if allZero(memoryOf(t, reflect.ValueOf(other))) {
			t.Error("the wipe reached another HMAC of the same key")
		}
	}
}

func TestDeepRefuses(t *testing.T) {
	type node struct {
		n    uint64
		next *node
		buf  []byte
		any  any
	}
	for name, v := range map[string]*node{
		"map":             {n: 1, any: map[int]int{1: 1}},
		"string":          {n: 1, any: &struct{ s string }{"x"}},
		"func":            {n: 1, any: func() {}},
		"chan":            {n: 1, any: make(chan int)},
		"number by value": {n: 1, any: 7},
		"deeper":          {n: 1, next: &node{n: 2, any: &[]map[int]int{nil}}},
	} {
		v.buf = []byte{1, 2, 3}
		if Deep(v) {
			t.Errorf("%s: wiped", name)
		}
		if v.n != 1 || v.buf[0] != 1 || v.next != nil && v.next.n != 2 {
			t.Errorf("%s: a refused value was changed", name)
		}
	}
	for name, v := range map[string]any{"nil": (*node)(nil), "not a pointer": node{n: 1}} {
		if Deep(v) {
			t.Errorf("%s: wiped", name)
		}
	}

	// A cycle, a shared slice and a slice cut short are walked once, and
	// whole.
	buf := []byte{1, 2, 3, 4}
	a := &node{n: 1, buf: buf[:2]}
	a.next = &node{n: 2, next: a, buf: buf, any: &[2]uint16{5, 6}}
	if !Deep(a) {
		t.Fatal("a cycle could not be wiped")
	}
	if a.n != 0 || a.next.n != 0 || !bytes.Equal(buf, make([]byte, 4)) || *a.next.any.(*[2]uint16) != [2]uint16{} {
		t.Errorf("not wiped whole: %+v %+v %v", a, a.next, buf)
	}
	if a.next.next != a || len(a.buf) != 2 {
		t.Error("the wipe changed a pointer or a length")
	}
}

// TestNewHMAC: NewHMAC's HMAC gives hmac.New's answer, reset between
// messages or not.
func TestNewHMAC(t *testing.T) {
	for _, key := range [][]byte{nil, []byte("k"), bytes.Repeat([]byte("k"), 64)} {
		m, ok := NewHMAC(sha256.New, key)
		if !ok {
			t.Fatal("the padded keys could not be wiped")
		}
		for i, msg := range []string{"", "a", string(bytes.Repeat([]byte("m"), 200)), "b"} {
			want := hmac.New(sha256.New, key)
			want.Write([]byte(msg))
			if i > 0 {
				m.Reset()
			}
			m.Write([]byte(msg))
			if got := m.Sum(nil); !hmac.Equal(got, want.Sum(nil)) {
				t.Errorf("key %d bytes, message %d: %x, want %x", len(key), len(msg), got, want.Sum(nil))
			}
		}
	}
}

// memoryOf is the memory v reaches, as Deep walks it: a byte view of each
// number, pointer-free array and slice backing array (up to its capacity).
func memoryOf(t *testing.T, v reflect.Value) [][]byte {
	t.Helper()
	var out [][]byte
	seen := map[uintptr]bool{}
	var walk func(v reflect.Value)
	walk = func(v reflect.Value) {
		switch v.Kind() {
		case reflect.Pointer, reflect.Interface:
			if v.IsNil() || v.Kind() == reflect.Pointer && seen[v.Pointer()] {
				return
			}
			if v.Kind() == reflect.Pointer {
				seen[v.Pointer()] = true
			}
			walk(v.Elem())
		case reflect.Struct:
			for i := range v.NumField() {
				walk(v.Field(i))
			}
		case reflect.Slice:
			all := v.Slice(0, v.Cap())
			for i := range all.Len() {
				walk(all.Index(i))
			}
		case reflect.Array, reflect.Bool, reflect.Int, reflect.Int32, reflect.Int64, reflect.Uint8, reflect.Uint32, reflect.Uint64:
			if v.Kind() == reflect.Array && !pointerFree(v.Type()) {
				for i := range v.Len() {
					walk(v.Index(i))
				}
				return
			}
			out = append(out, unsafe.Slice((*byte)(v.Addr().UnsafePointer()), v.Type().Size()))
		default:
			t.Fatalf("memoryOf: %s", v.Type())
		}
	}
	walk(v)
	return out
}

func allZero(mem [][]byte) bool {
	for _, b := range mem {
		for _, c := range b {
			if c != 0 {
				return false
			}
		}
	}
	return true
}
