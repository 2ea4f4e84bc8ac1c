package gateway

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/keyraft/keyraft/internal/failtally"
	"github.com/keyraft/keyraft/metrics"
	"github.com/keyraft/keyraft/transport/awsjson"
)

// TestServeCounts: every answer Serve gives a client is counted once, under
// the operation the table names (or unknown) and the error code the client
// got; a request forwarded from a follower is left to the follower.
func TestServeCounts(t *testing.T) {
	m := metrics.New()
	m.Gateway.Operations(OperationNames())
	g := &Gateway{Sealed: func() bool { return true }, AuthFailures: &failtally.Tally{}, Metrics: m.Gateway}
	send := func(method, target, body string, from Origin) int {
		r := httptest.NewRequest(method, "/", strings.NewReader(body))
		r.Header.Set("X-Amz-Target", target)
		w := httptest.NewRecorder()
		g.Serve(w, r, from)
		return w.Code
	}
	// Sealed: the node answers every signed-or-not request 503.
	if code := send(http.MethodPost, "TrentService.Encrypt", "{}", Origin{}); code != http.StatusServiceUnavailable {
		t.Fatalf("sealed Encrypt: %d", code)
	}
	send(http.MethodPost, "TrentService.Encrypt", "{}", Origin{})
	send(http.MethodGet, "TrentService.Decrypt", "", Origin{})
	send(http.MethodPost, "TrentService.Key-arn:aws:kms:1", "{}", Origin{})
	send(http.MethodPost, "KeyraftIAM.CreateUser", strings.Repeat("x", awsjson.MaxBody+1), Origin{})
	// Forwarded: the follower that received it counts it.
	send(http.MethodPost, "TrentService.Encrypt", "{}", Origin{Forwarded: true})
	for _, c := range []struct {
		op, code string
		want     float64
	}{
		{"Encrypt", "ServiceUnavailableException", 2},
		{"Decrypt", "UnknownOperationException", 1},
		{"unknown", "ServiceUnavailableException", 1},
		{"CreateUser", "SerializationException", 1},
	} {
		labels := map[string]string{"operation": c.op, "code": c.code}
		if got := m.Sample("keyraft_requests_total", labels); got != c.want {
			t.Errorf("requests%v = %v, want %v", labels, got, c.want)
		}
	}
	if got := m.Sample("keyraft_requests_total", nil); got != 5 {
		t.Errorf("%v requests counted, want 5 (the forwarded one is not)", got)
	}
	if got := m.Sample("keyraft_request_duration_seconds", map[string]string{"operation": "Encrypt"}); got != 2 {
		t.Errorf("Encrypt latency count %v, want 2", got)
	}
}
