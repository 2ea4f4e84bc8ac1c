package awsjson

import (
	"errors"
	"io"
	"net/http"
	"strconv"
	"sync"

	"github.com/keyraft/keyraft/internal/awserr"
	"github.com/keyraft/keyraft/internal/sensitive"
)

// ContentType is what AWS JSON 1.1 services send and expect.
const ContentType = "application/x-amz-json-1.1"

// MaxBody bounds a request body. The largest AWS KMS request, a 32 KiB
// policy with its JSON around it, fits; AWS refuses larger ones too.
const MaxBody = 64 << 10

// ErrTooLarge is returned by ReadBody for bodies over MaxBody.
var ErrTooLarge = errors.New("request body too large")

// ReadBody reads a request body of at most MaxBody bytes. A body declared
// larger is refused before any of it is read, and one that turns out larger
// (chunked, no declared length) as soon as it passes the limit, so that a
// client cannot make the server buffer more than MaxBody.
func ReadBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	if r.ContentLength > MaxBody {
		return nil, ErrTooLarge
	}
	body := http.MaxBytesReader(w, r.Body, MaxBody)
	if n := r.ContentLength; n >= 0 {
		// A declared length sizes the buffer once instead of growing it
		// through ReadAll's doublings.
		b := make([]byte, n)
		if _, err := io.ReadFull(body, b); err != nil {
			return nil, err
		}
		return b, nil
	}
	b, err := io.ReadAll(body)
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return nil, ErrTooLarge
	}
	return b, err
}

// WriteError writes an AWS JSON 1.1 error. SDKs read the type from
// `__type` and from X-Amzn-Errortype.
func WriteError(w http.ResponseWriter, e *awserr.Error) {
	h := w.Header()
	h.Set("Content-Type", ContentType)
	h.Set("X-Amzn-Errortype", e.Type)
	w.WriteHeader(e.Status)
	_, _ = w.Write(e.JSON())
}

// WriteResult writes a 200 answer; a nil result is an empty body.
func WriteResult(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", ContentType)
	if v == nil {
		w.WriteHeader(http.StatusOK)
		return
	}
	bp := answerBuffers.Get().(*[]byte)
	b := *bp
	if n := sizeHint(v); cap(b) < n {
		b = make([]byte, 0, n)
	}
	b, err := appendValue(b[:0], v)
	if err != nil {
		clear((*bp)[:cap(*bp)]) // a secret may have been written before the failure
		ForgetSecrets(v)
		WriteError(w, &awserr.Error{Type: "KMSInternalException", Message: "could not encode the response", Status: http.StatusInternalServerError})
		return
	}
	// A known length saves the chunked encoding on every answer.
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b) // net/http copies or sends b before returning
	clear(b)
	ForgetSecrets(v)
	if cap(b) <= maxPooledAnswer {
		*bp = b[:0]
		answerBuffers.Put(bp)
	}
}

// answerBuffers keeps the answers' buffers between requests: an answer is
// built in one buffer of about its final size (sizeHint), which was the
// largest allocation of a request (profiled: 16 KiB per 4 KiB Encrypt while
// the buffer doubled). A buffer goes back zeroed, so none keeps a secret.
var answerBuffers = sync.Pool{New: func() any { return new([]byte) }}

// maxPooledAnswer keeps the rare large answer (a list) from pinning memory.
const maxPooledAnswer = 64 << 10

// ForgetSecrets zeroes every sensitive.Bytes and sensitive.String in an answer
// (maps of members, nested), once nothing needs it any more.
func ForgetSecrets(v any) {
	switch v := v.(type) {
	case sensitive.Bytes:
		clear(v)
	case sensitive.String:
		clear(v)
	case map[string]any:
		for _, m := range v {
			ForgetSecrets(m)
		}
	}
}
