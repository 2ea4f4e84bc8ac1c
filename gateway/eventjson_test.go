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

// BenchmarkEncodeEvent: an Encrypt request's event, as the leader writes it
// for every request, by appendEvent and by encoding/json.
func BenchmarkEncodeEvent(b *testing.B) {
	ev := &audit.Event{
		EventVersion: audit.EventVersion, EventTime: "2026-12-03T21:50:00.123456789Z", EventSource: audit.EventSource,
		EventName: "Encrypt", EventType: "AwsApiCall", AWSRegion: "us-east-1", SourceIPAddress: "127.0.0.1",
		UserAgent:         "aws-sdk-go-v2/1.41.0 ua/2.1 os/linux lang/go#1.27.3 md/GOOS#linux md/GOARCH#amd64 api/kms#1.49.0",
		UserIdentity:      &audit.UserIdentity{Type: "Root", PrincipalID: "111122223333", ARN: "arn:aws:iam::111122223333:root", AccountID: "111122223333", AccessKeyID: "AKIAIOSFODNN7EXAMPLE"},
		RequestParameters: map[string]any{"keyId": "alias/bench", "encryptionContext": map[string]any{"purpose": "bench"}},
		ResponseElements:  map[string]any{"keyId": "arn:aws:kms:us-east-1:111122223333:key/0b6a9c9e-7f2e-4a3c-9d0e-1f2a3b4c5d6e", "encryptionAlgorithm": "SYMMETRIC_DEFAULT"},
		RequestID:         "6f1e0c4e-9a7d-4b52-8f43-2c1d0e9b8a71", EventID: "0c9d8e7f-6a5b-4c3d-2e1f-0a9b8c7d6e5f",
		Resources:          []audit.Resource{{ARN: "arn:aws:kms:us-east-1:111122223333:key/0b6a9c9e-7f2e-4a3c-9d0e-1f2a3b4c5d6e", AccountID: "111122223333", Type: "AWS::KMS::Key"}},
		RecipientAccountID: "111122223333", NodeID: "n1",
	}
	b.Run("appendEvent", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := encodeEvent(ev); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := json.Marshal(ev); err != nil {
				b.Fatal(err)
			}
		}
	})
}
