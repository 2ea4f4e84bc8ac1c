package awsjson

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/keyraft/keyraft/internal/awserr"
)

// TestWriteError pins an error answer as SDKs read it: the status, the
// type in both X-Amzn-Errortype and `__type`, and the JSON 1.1 content type.
func TestWriteError(t *testing.T) {
	rec := httptest.NewRecorder()
	WriteError(rec, awserr.Serialization(http.StatusRequestEntityTooLarge, "The request body is larger than 65536 bytes."))
	if rec.Code != http.StatusRequestEntityTooLarge {
		t.Errorf("status %d, want 413", rec.Code)
	}
	if got := rec.Header().Get("X-Amzn-Errortype"); got != "SerializationException" {
		t.Errorf("X-Amzn-Errortype %q", got)
	}
	if got := rec.Header().Get("Content-Type"); got != ContentType {
		t.Errorf("Content-Type %q", got)
	}
	if got, want := rec.Body.String(), `{"__type":"SerializationException","message":"The request body is larger than 65536 bytes."}`; got != want {
		t.Errorf("body %s, want %s", got, want)
	}
}
