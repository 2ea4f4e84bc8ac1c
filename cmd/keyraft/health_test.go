package main

import (
	"strings"
	"testing"
)

// TestHealthAnswerSaysRefusalsPlainly: a 400 from /v1/sys/health is the
// node's message as text, not a Go slice ("[...]").
func TestHealthAnswerSaysRefusalsPlainly(t *testing.T) {
	_, err := healthAnswer(400, []byte(`{"errors":["sealedcode must be an HTTP status code from 200 to 599, not \"99999\""]}`))
	if err == nil || err.Error() != `sealedcode must be an HTTP status code from 200 to 599, not "99999" (HTTP 400)` {
		t.Fatalf("got %v", err)
	}
	_, err = healthAnswer(400, []byte(`{"errors":["one","two"]}`))
	if err == nil || err.Error() != "one; two (HTTP 400)" {
		t.Fatalf("two errors: %v", err)
	}
	// An errors field that is not a list of strings is still said, quoted.
	_, err = healthAnswer(400, []byte(`{"errors":{"x":1}}`))
	if err == nil || strings.Contains(err.Error(), "map[") || !strings.Contains(err.Error(), "HTTP 400") {
		t.Fatalf("odd errors: %v", err)
	}
	if b, err := healthAnswer(429, []byte(`{"sealed":false,"standby":true}`)); err != nil || b["standby"] != true {
		t.Fatalf("a 429 answer: %v %v", b, err)
	}
	if b, err := healthAnswer(204, nil); err != nil || len(b) != 0 {
		t.Fatalf("a 204 without a body: %v %v", b, err)
	}
	if _, err := healthAnswer(200, []byte("<html>")); err == nil || !strings.Contains(err.Error(), "not a health answer") {
		t.Fatalf("not JSON: %v", err)
	}
}
