package fsm

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/keyraft/keyraft/audit"
	"github.com/keyraft/keyraft/fsm/fsmpb"
)

const usageKeyARN = "arn:aws:kms:us-east-1:111122223333:key/"

// usageEventJSON is an event as the gateway writes it (audit.Event).
func usageEventJSON(name, at, errorCode, eventID string, keys ...string) []byte {
	ev := audit.Event{
		EventVersion: audit.EventVersion, EventTime: at, EventSource: audit.EventSource, EventName: name,
		EventType: "AwsApiCall", AWSRegion: "us-east-1", ErrorCode: errorCode,
		RequestParameters: map[string]any{"keyId": keys[0]}, RequestID: "r-" + eventID, EventID: eventID,
	}
	for _, k := range keys {
		ev.Resources = append(ev.Resources, audit.Resource{ARN: usageKeyARN + k, AccountID: "111122223333", Type: "AWS::KMS::Key"})
	}
	b, err := json.Marshal(ev)
	if err != nil {
		panic(err)
	}
	return b
}

func testInit() *fsmpb.Init {
	return &fsmpb.Init{Shares: 1, Threshold: 1, SealedKeyring: []byte("k"),
		RootAccessKey: &fsmpb.AccessKey{AccessKeyId: "AKIAROOT", SealedSecret: []byte("s")}}
}

// TestAuditBatchNotesKeyUsage: applying an audit batch notes each key's
// last successful tracked use, in log order, through both ways a batch
// applies (ApplyBatch's fast path for plain batches, the general path for
// deflated ones, and Apply), and a snapshot carries it.
func TestAuditBatchNotesKeyUsage(t *testing.T) {
	ts := int64(1_700_000_000_000_000_000)
	setup := [][]byte{
		encode(t, CmdInit, testInit(), ts),
		encode(t, CmdCreateKey, &fsmpb.CreateKey{Key: testKey("a", ts)}, ts),
		encode(t, CmdCreateKey, &fsmpb.CreateKey{Key: testKey("b", ts)}, ts),
		encode(t, CmdCreateKey, &fsmpb.CreateKey{Key: testKey("c", ts)}, ts),
		encode(t, CmdCreateKey, &fsmpb.CreateKey{Key: testKey("idle", ts)}, ts),
	}
	spoof := usageEventJSON("DescribeKey", "2023-11-14T22:14:00Z", "", "spoof", "c")
	// A caller-controlled member naming a tracked operation and another key
	// changes nothing: only the event's own members count.
	var m map[string]any
	_ = json.Unmarshal(spoof, &m)
	m["requestParameters"] = map[string]any{"encryptionContext": map[string]any{
		"eventName": "Encrypt", "resources": `[{"ARN":"` + usageKeyARN + `b"}]`}}
	spoof, _ = json.Marshal(m)
	batch1 := [][]byte{
		usageEventJSON("Encrypt", "2023-11-14T22:13:20Z", "", "e1", "a"),
		usageEventJSON("Sign", "2023-11-14T22:13:21.25Z", "", "e2", "b"),
		usageEventJSON("ReEncrypt", "2023-11-14T22:13:22Z", "", "e3", "a", "c"),
	}
	batch2 := [][]byte{
		usageEventJSON("Decrypt", "2023-11-14T22:13:30Z", "IncorrectKeyException", "e4", "a"), // failed
		usageEventJSON("Encrypt", "2023-11-14T22:13:31Z", "DryRunOperationException", "e5", "b"),
		usageEventJSON("DescribeKey", "2023-11-14T22:13:32Z", "", "e6", "b"), // not tracked
		usageEventJSON("GenerateMac", "2023-11-14T22:13:33Z", "", "e7", "gone"),
		usageEventJSON("GenerateMac", "not a time", "", "e8", "b"),
		spoof,
		[]byte(`{"eventName":"Encrypt", not json`),
		usageEventJSON("Verify", "2023-11-14T22:13:34Z", "", "e9", "b"),
	}
	plain := func(events [][]byte) []byte {
		return encode(t, CmdAuditBatch, &fsmpb.AuditBatch{Events: events}, ts)
	}
	deflated := func(events [][]byte) []byte {
		b, err := NewAuditBatchCommand(events, time.Unix(0, ts))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	want := map[string]KeyUsage{
		"a":    {Date: time.Date(2023, 11, 14, 22, 13, 22, 0, time.UTC), Operation: "ReEncrypt", EventID: "e3", RequestID: "r-e3"},
		"b":    {Date: time.Date(2023, 11, 14, 22, 13, 34, 0, time.UTC), Operation: "Verify", EventID: "e9", RequestID: "r-e9"},
		"c":    {Date: time.Date(2023, 11, 14, 22, 13, 22, 0, time.UTC), Operation: "ReEncrypt", EventID: "e3", RequestID: "r-e3"},
		"idle": {},
	}
	check := func(t *testing.T, f *FSM) {
		t.Helper()
		for id, w := range want {
			k, ok := f.Query().Key(id)
			if !ok {
				t.Fatalf("key %s missing", id)
			}
			if !k.LastUsage.Date.Equal(w.Date) || k.LastUsage.Operation != w.Operation ||
				k.LastUsage.EventID != w.EventID || k.LastUsage.RequestID != w.RequestID {
				t.Errorf("key %s: last usage %+v, want %+v", id, k.LastUsage, w)
			}
			if !k.UsageTrackedSince.Equal(time.Unix(0, ts)) {
				t.Errorf("key %s: tracked since %v, want its creation date", id, k.UsageTrackedSince)
			}
		}
	}
	for name, entries := range map[string][][]byte{
		"plain":    append(append([][]byte{}, setup...), plain(batch1), plain(batch2)),
		"deflated": append(append([][]byte{}, setup...), deflated(batch1), deflated(batch2)),
	} {
		t.Run(name+"/ApplyBatch", func(t *testing.T) {
			f := newFSM(t)
			var logs []*raft.Log
			for i, e := range entries {
				logs = append(logs, &raft.Log{Index: uint64(i) + 1, Type: raft.LogCommand, Data: e})
			}
			f.ApplyBatch(logs)
			check(t, f)
			restored := newFSM(t)
			restoreBytes(t, restored, snapshotBytes(t, f))
			check(t, restored)
		})
		t.Run(name+"/Apply", func(t *testing.T) {
			f := newFSM(t)
			applyAll(f, entries, 1)
			check(t, f)
		})
	}
}

// TestCreateKeyStartsUsageClean: a CreateKey command cannot bring a usage
// of its own; tracking starts at the key's creation.
func TestCreateKeyStartsUsageClean(t *testing.T) {
	ts := int64(1_700_000_000_000_000_000)
	k := testKey("a", ts)
	k.LastUsedDate, k.LastUsedOperation, k.LastUsedEventId, k.UsageTrackedSince = ts+5, "Sign", "forged", 1
	f := newFSM(t)
	applyAll(f, [][]byte{
		encode(t, CmdInit, testInit(), ts),
		encode(t, CmdCreateKey, &fsmpb.CreateKey{Key: k}, ts),
	}, 1)
	got, _ := f.Query().Key("a")
	if got.LastUsage != (KeyUsage{}) || !got.UsageTrackedSince.Equal(time.Unix(0, ts)) {
		t.Fatalf("new key: usage %+v since %v", got.LastUsage, got.UsageTrackedSince)
	}
}

// benchEvent is a typical Encrypt event as the gateway writes it.
func benchEvent() []byte {
	ev := usageEventJSON("Encrypt", "2023-11-14T22:13:20.123456789Z", "", "8d3f0e53-2b54-4b0c-9f07-0a5a8f6c1e11", "a")
	var m map[string]any
	_ = json.Unmarshal(ev, &m)
	m["requestParameters"] = map[string]any{"keyId": "a", "encryptionAlgorithm": "SYMMETRIC_DEFAULT",
		"encryptionContext": map[string]any{"app": "bench", "tenant": "t-0001"}}
	m["responseElements"] = map[string]any{"keyId": usageKeyARN + "a", "encryptionAlgorithm": "SYMMETRIC_DEFAULT"}
	m["userIdentity"] = map[string]any{"type": "IAMUser", "arn": "arn:aws:iam::111122223333:user/bench", "accessKeyId": "AKIAEXAMPLE"}
	m["userAgent"] = "aws-sdk-go-v2/1.41.0 ua/2.1 os/linux lang/go#1.26.8 md/GOOS#linux api/kms#1.62.4 m/E"
	ev, _ = json.Marshal(m)
	return ev
}

// BenchmarkNoteUsage is the cost usage noting adds to applying an audit
// batch, per event, for a typical Encrypt event.
func BenchmarkNoteUsage(b *testing.B) {
	f := newFSM(b)
	f.st.keys["a"] = &fsmpb.Key{KeyId: "a"}
	events := [][]byte{benchEvent()}
	b.SetBytes(int64(len(events[0])))
	b.ReportAllocs()
	for b.Loop() {
		f.noteUsage(events)
	}
}

// referenceUsageEvent reads an event with encoding/json and exact member
// names (the last of duplicates wins), the reading scanUsageEvent keeps.
func referenceUsageEvent(b []byte) (usageEvent, bool) {
	var m map[string]json.RawMessage
	if json.Unmarshal(b, &m) != nil || m == nil {
		return usageEvent{}, false
	}
	var ev usageEvent
	for name, dst := range map[string]*string{"eventSource": &ev.EventSource, "eventTime": &ev.EventTime,
		"eventName": &ev.EventName, "errorCode": &ev.ErrorCode, "requestID": &ev.RequestID, "eventID": &ev.EventID} {
		if raw, ok := m[name]; ok && json.Unmarshal(raw, dst) != nil {
			return usageEvent{}, false
		}
	}
	if raw, ok := m["resources"]; ok {
		var rs []map[string]json.RawMessage
		if json.Unmarshal(raw, &rs) != nil {
			return usageEvent{}, false
		}
		if rs != nil {
			ev.Resources = []usageResource{}
		}
		for _, r := range rs {
			var out usageResource
			if raw, ok := r["ARN"]; ok && json.Unmarshal(raw, &out.ARN) != nil {
				return usageEvent{}, false
			}
			ev.Resources = append(ev.Resources, out)
		}
	}
	return ev, true
}

// FuzzScanUsageEvent: whatever valid JSON scanUsageEvent accepts, it reads
// as encoding/json does; it never panics on anything.
func FuzzScanUsageEvent(f *testing.F) {
	f.Add(usageEventJSON("Encrypt", "2023-11-14T22:13:20Z", "", "e1", "a"))
	f.Add(usageEventJSON("ReEncrypt", "2023-11-14T22:13:20Z", "AccessDeniedException", "e1", "a", "b"))
	f.Add([]byte(`{"eventName":"Sign","eventName":"Verify","resources":[{"ARN":"x","ARN":"y","t":[1,{"a":"\"}"}]}],"resources":null}`))
	f.Add([]byte(`{"eventName":"Sign","requestParameters":{"eventName":"Encrypt","x":[true,false,null,-1.5e3]},"eventID":"e"}`))
	f.Add([]byte(` { "eventID" : "\u0041" } `))
	f.Add([]byte(`{"resources":[{}],"eventTime":"é"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		got, ok := scanUsageEvent(b)
		if !ok || !json.Valid(b) {
			return
		}
		want, wok := referenceUsageEvent(b)
		if !wok {
			t.Fatalf("scanned %q, which encoding/json does not read as an event: %+v", b, got)
		}
		g, _ := json.Marshal(got)
		w, _ := json.Marshal(want)
		if string(g) != string(w) {
			t.Fatalf("%q:\nscanned  %s\nencoding/json %s", b, g, w)
		}
	})
}

// TestScanReadsGatewayEvents: every event the gateway writes for a
// tracked operation is read (the scanner's refusals are for other shapes).
func TestScanReadsGatewayEvents(t *testing.T) {
	ev := audit.Event{EventVersion: audit.EventVersion, EventTime: "2026-12-03T17:00:00.123456789Z", EventSource: audit.EventSource,
		EventName: "Encrypt", EventType: "AwsApiCall", AWSRegion: "us-east-1", SourceIPAddress: "127.0.0.1",
		UserAgent:         "aws-sdk-go-v2/1.41.0 \"quoted\" \\ ua/2.1 \u2028 é",
		UserIdentity:      &audit.UserIdentity{Type: "IAMUser", ARN: "arn:aws:iam::111122223333:user/a", AccessKeyID: "AKIA"},
		RequestParameters: map[string]any{"keyId": "k", "encryptionContext": map[string]any{"<&>": "\"]}", "n": []any{1.5, nil, true}}},
		ResponseElements:  map[string]any{"keyId": usageKeyARN + "a"}, RequestID: "r", EventID: "e", ReadOnly: true,
		Resources: []audit.Resource{{ARN: usageKeyARN + "a", AccountID: "111122223333", Type: "AWS::KMS::Key"}}, NodeID: "n1"}
	b, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	got, ok := scanUsageEvent(b)
	want, _ := referenceUsageEvent(b)
	g, _ := json.Marshal(got)
	w, _ := json.Marshal(want)
	if !ok || string(g) != string(w) || got.EventName != "Encrypt" || len(got.Resources) != 1 {
		t.Fatalf("gateway event %s: scanned %v %s, want %s", b, ok, g, w)
	}
}

// BenchmarkDecodeUsageEvent is what noting usage cost per event with
// json.Unmarshal, for comparison with BenchmarkNoteUsage.
func BenchmarkDecodeUsageEvent(b *testing.B) {
	ev := benchEvent()
	b.SetBytes(int64(len(ev)))
	b.ReportAllocs()
	for b.Loop() {
		var u usageEvent
		_ = json.Unmarshal(ev, &u)
	}
}
