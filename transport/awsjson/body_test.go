package awsjson

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// unreadable fails the test if anyone reads it.
type unreadable struct{ t *testing.T }

func (u unreadable) Read([]byte) (int, error) {
	u.t.Fatal("a body declared too large was read")
	return 0, io.EOF
}

func TestReadBodyBounded(t *testing.T) {
	r := httptest.NewRequest(http.MethodPost, "/", unreadable{t})
	r.ContentLength = MaxBody + 1
	if _, err := ReadBody(httptest.NewRecorder(), r); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("a declared %d-byte body: %v", r.ContentLength, err)
	}
	// No declared length (chunked): refused once past the bound.
	r = httptest.NewRequest(http.MethodPost, "/", io.MultiReader(strings.NewReader(strings.Repeat("a", MaxBody)), strings.NewReader("b")))
	r.ContentLength = -1
	if _, err := ReadBody(httptest.NewRecorder(), r); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("an undeclared %d-byte body: %v", MaxBody+1, err)
	}
	for _, n := range []int64{0, MaxBody} {
		r = httptest.NewRequest(http.MethodPost, "/", strings.NewReader(strings.Repeat("a", int(n))))
		if b, err := ReadBody(httptest.NewRecorder(), r); err != nil || int64(len(b)) != n {
			t.Fatalf("a %d-byte body: %d bytes, %v", n, len(b), err)
		}
	}
}
