package wipe

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha256"
	"reflect"
	"testing"
)

// TestPointeeStdlibSecrets: the standard library types keyraft keeps keys
// in are wiped whole. This fails if a Go release gives them a pointer
// (then their secrets would need another way out).
func TestPointeeStdlibSecrets(t *testing.T) {
	key := make([]byte, 32)
	for i := range key {
		key[i] = byte(i + 1)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		t.Fatal(err)
	}
	gcm.Seal(nil, make([]byte, 12), []byte("x"), nil)
	h := sha256.New()
	h.Write(key)
	for name, v := range map[string]any{"aes block": block, "gcm": gcm, "sha256": h} {
		if reflect.ValueOf(v).Elem().IsZero() {
			t.Fatalf("%s is zero before the wipe", name)
		}
		if !Pointee(v) {
			t.Errorf("%s (%T) could not be wiped", name, v)
			continue
		}
		if !reflect.ValueOf(v).Elem().IsZero() {
			t.Errorf("%s is not zero after the wipe", name)
		}
	}
}

func TestPointeeRefuses(t *testing.T) {
	type withPointer struct {
		n int
		p *int
	}
	x := 7
	wp := &withPointer{n: 1, p: &x}
	var nilPtr *[4]byte
	for name, v := range map[string]any{"pointer field": wp, "nil": nilPtr, "not a pointer": [4]byte{1}, "slice": []byte{1}} {
		if Pointee(v) {
			t.Errorf("%s: wiped", name)
		}
	}
	if wp.n != 1 || wp.p != &x {
		t.Error("a refused value was changed")
	}
	arr := &[3]uint32{1, 2, 3}
	if !Pointee(arr) || *arr != [3]uint32{} {
		t.Error("an array was not wiped")
	}
}
