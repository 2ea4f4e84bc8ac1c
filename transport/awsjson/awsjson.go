package awsjson

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// ContentType is what AWS JSON 1.1 services send and expect.
const ContentType = "application/x-amz-json-1.1"

// targetPrefix is the AWS KMS service prefix of X-Amz-Target.
const targetPrefix = "TrentService."

// MaxBody bounds a request body: the largest KMS request (a 6144-byte
// ciphertext plus a 32 KiB policy, base64-encoded) is far below it.
const MaxBody = 1 << 20

// ErrTooLarge is returned by ReadBody for bodies over MaxBody.
var ErrTooLarge = errors.New("request body too large")

// Operation returns the KMS operation named by X-Amz-Target, or "" when the
// header is missing or names another service.
func Operation(r *http.Request) string {
	t := r.Header.Get("X-Amz-Target")
	if !strings.HasPrefix(t, targetPrefix) {
		return ""
	}
	return strings.TrimPrefix(t, targetPrefix)
}

// ReadBody reads at most MaxBody bytes of the request body.
func ReadBody(r *http.Request) ([]byte, error) {
	if n := r.ContentLength; n >= 0 && n <= MaxBody {
		// A declared length sizes the buffer once instead of growing it
		// through ReadAll's doublings.
		b := make([]byte, n)
		if _, err := io.ReadFull(r.Body, b); err != nil {
			return nil, err
		}
		return b, nil
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, MaxBody+1))
	if err != nil {
		return nil, err
	}
	if len(b) > MaxBody {
		return nil, ErrTooLarge
	}
	return b, nil
}

// WriteError writes an AWS JSON 1.1 error. SDKs read the type from
// `__type` and from X-Amzn-Errortype.
func WriteError(w http.ResponseWriter, typ, message string, status int) {
	h := w.Header()
	h.Set("Content-Type", ContentType)
	h.Set("X-Amzn-Errortype", typ)
	w.WriteHeader(status)
	b, _ := json.Marshal(struct {
		Type    string `json:"__type"`
		Message string `json:"message,omitempty"`
	}{typ, message})
	_, _ = w.Write(b)
}

// WriteResult writes a 200 answer; a nil result is an empty body.
func WriteResult(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", ContentType)
	if v == nil {
		w.WriteHeader(http.StatusOK)
		return
	}
	b, err := Marshal(v)
	if err != nil {
		WriteError(w, "KMSInternalException", "could not encode the response", http.StatusInternalServerError)
		return
	}
	// A known length saves the chunked encoding on every answer.
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
	clear(b)
	ForgetSecrets(v)
}

// ForgetSecrets zeroes every Secret and SecretString in an answer (maps of
// members, nested), once nothing needs it any more.
func ForgetSecrets(v any) {
	switch v := v.(type) {
	case Secret:
		clear(v)
	case SecretString:
		clear(v)
	case map[string]any:
		for _, m := range v {
			ForgetSecrets(m)
		}
	}
}
