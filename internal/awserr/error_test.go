package awserr

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"testing"
)

// TestJSON pins the JSON 1.1 error body byte for byte: SDKs read `__type`,
// an empty message is left out as AWS leaves it out, and the message is
// escaped as encoding/json escapes every other answer.
func TestJSON(t *testing.T) {
	for _, tt := range []struct {
		err  *Error
		want string
	}{
		{UnknownOperation(""), `{"__type":"UnknownOperationException"}`},
		{UnknownOperation("KMS requests are POST /"), `{"__type":"UnknownOperationException","message":"KMS requests are POST /"}`},
		{New("NotFoundException", http.StatusNotFound, "Key '%s' does not exist", "k"), `{"__type":"NotFoundException","message":"Key 'k' does not exist"}`},
		{New("ValidationException", 400, "<a> & \"b\" \u2028 \x01"), `{"__type":"ValidationException","message":"\u003ca\u003e \u0026 \"b\" \u2028 \u0001"}`},
		{&Error{Type: "X<"}, `{"__type":"X\u003c"}`},
	} {
		if got := string(tt.err.JSON()); got != tt.want {
			t.Errorf("%v.JSON() = %s, want %s", tt.err, got, tt.want)
		}
	}
}

// TestConstructors pins the type and status of the shared constructors:
// the status decides whether an SDK retries.
func TestConstructors(t *testing.T) {
	for _, tt := range []struct {
		err          *Error
		typ, msg     string
		status       int
		errorMessage string
	}{
		{Unavailable("retry"), "ServiceUnavailableException", "retry", 503, "ServiceUnavailableException: retry"},
		{UnknownOperation(""), "UnknownOperationException", "", 400, "UnknownOperationException: "},
		{Serialization(413, "too large"), "SerializationException", "too large", 413, "SerializationException: too large"},
		{New("T", 409, "%d%%", 5), "T", "5%", 409, "T: 5%"},
		{New("T", 500, "%s", "100%"), "T", "100%", 500, "T: 100%"},
	} {
		e := tt.err
		if e.Type != tt.typ || e.Message != tt.msg || e.Status != tt.status || e.Error() != tt.errorMessage {
			t.Errorf("got {%q %q %d} %q, want {%q %q %d} %q", e.Type, e.Message, e.Status, e.Error(), tt.typ, tt.msg, tt.status, tt.errorMessage)
		}
	}
}

// TestErrorsAs: a wrapped *Error is found again, so the pipeline can tell a
// refusal it must pass on from an internal failure.
func TestErrorsAs(t *testing.T) {
	orig := Unavailable("x")
	var got *Error
	if !errors.As(fmt.Errorf("forwarding: %w", orig), &got) || got != orig {
		t.Fatalf("errors.As found %v, want %v", got, orig)
	}
}

// FuzzJSON: whatever the type and message, the body is one JSON object
// that decodes to exactly them, with the message member present only when
// there is a message.
func FuzzJSON(f *testing.F) {
	f.Add("ValidationException", "1 validation error detected")
	f.Add("X", "")
	f.Add("\"<&>", "\xff\x00\u2028")
	f.Fuzz(func(t *testing.T, typ, msg string) {
		b := (&Error{Type: typ, Message: msg, Status: 400}).JSON()
		var m map[string]string
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("%s does not decode: %v", b, err)
		}
		// encoding/json writes invalid UTF-8 as U+FFFD, as it does in
		// every answer.
		wantType, wantMsg := toValid(typ), toValid(msg)
		if m["__type"] != wantType {
			t.Fatalf("__type %q, want %q", m["__type"], wantType)
		}
		if got, ok := m["message"]; ok != (msg != "") || got != wantMsg {
			t.Fatalf("message %q (present %v), want %q", got, ok, wantMsg)
		}
		if len(m) > 2 {
			t.Fatalf("extra members in %s", b)
		}
	})
}

func toValid(s string) string {
	b, _ := json.Marshal(s)
	var out string
	_ = json.Unmarshal(b, &out)
	return out
}
