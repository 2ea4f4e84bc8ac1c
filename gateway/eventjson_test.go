package gateway

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"

	"github.com/keyraft/keyraft/audit"
)

func checkAppendEvent(t *testing.T, ev *audit.Event) {
	t.Helper()
	got, err := appendEvent(nil, ev)
	want, werr := json.Marshal(ev)
	if (err == nil) != (werr == nil) || !bytes.Equal(got, want) {
		t.Fatalf("appendEvent:\n%s, %v\njson.Marshal:\n%s, %v", got, err, want, werr)
	}
}

// fillEvent sets every field of an event, nested structs included, by
// reflection, so that a field added to audit.Event and not to appendEvent
// makes the two encodings differ.
func fillEvent(s string, flag bool) *audit.Event {
	ev := &audit.Event{UserIdentity: &audit.UserIdentity{}, Resources: []audit.Resource{{}, {}}}
	var fill func(v reflect.Value)
	fill = func(v reflect.Value) {
		switch v.Kind() {
		case reflect.String:
			v.SetString(s + v.Type().String())
		case reflect.Bool:
			v.SetBool(flag)
		case reflect.Pointer:
			fill(v.Elem())
		case reflect.Struct:
			for i := range v.NumField() {
				fill(v.Field(i))
			}
		case reflect.Slice:
			for i := range v.Len() {
				fill(v.Index(i))
			}
		case reflect.Map:
			v.Set(reflect.ValueOf(map[string]any{"keyId": s, "n": 3, "nested": map[string]any{s: true, "list": []string{s}}}))
		default:
			panic("fillEvent: a field of kind " + v.Kind().String() + ": teach appendEvent and this test about it")
		}
	}
	fill(reflect.ValueOf(ev))
	return ev
}

func TestAppendEventCoversEveryField(t *testing.T) {
	checkAppendEvent(t, fillEvent("x", true))
	checkAppendEvent(t, fillEvent("", false))
	checkAppendEvent(t, &audit.Event{})
	checkAppendEvent(t, &audit.Event{UserIdentity: &audit.UserIdentity{}, Resources: []audit.Resource{}, RequestParameters: map[string]any{}})
	checkAppendEvent(t, &audit.Event{RequestParameters: map[string]any{"bad": make(chan int)}})
}

// FuzzAppendEvent: events built from fuzzed strings encode exactly as
// json.Marshal encodes them (escapes, invalid UTF-8, HTML characters).
func FuzzAppendEvent(f *testing.F) {
	f.Add("Encrypt", "arn:aws:kms:us-east-1:111122223333:key/k", "aws-sdk-go-v2/1.0 <&>", true)
	f.Add("\u2028\"\\\x00\xff", "", "é", false)
	f.Fuzz(func(t *testing.T, name, arn, ua string, flag bool) {
		ev := fillEvent(name, flag)
		ev.UserAgent, ev.Resources[1].ARN = ua, arn
		ev.RequestParameters = map[string]any{name: arn, "grantTokens": []string{ua}, "dryRun": flag}
		checkAppendEvent(t, ev)
	})
}
