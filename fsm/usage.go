package fsm

import (
	"bytes"
	"strings"
	"time"
)

// Key usage (GetKeyLastUsage) is noted from the audit events as their
// batches apply, so answering it costs no Raft write: every successful
// cryptographic request already commits its event, and every replica
// applies the same events in the same order, so every replica notes the
// same last use. What is kept per key is fixed in size: a time, one name
// of a fixed set, and two ids of bounded length.

// usageOperations are the operations AWS tracks (KeyLastUsageTrackingOperation
// in the service model), each mapped to itself so the state keeps the
// constant, not a copy of the event's bytes.
var usageOperations = map[string]string{}

func init() {
	for _, op := range []string{
		"Decrypt", "DeriveSharedSecret", "Encrypt", "GenerateDataKey", "GenerateDataKeyPair",
		"GenerateDataKeyPairWithoutPlaintext", "GenerateDataKeyWithoutPlaintext", "GenerateMac",
		"ReEncrypt", "Sign", "Verify", "VerifyMac", "Encapsulate", "Decapsulate",
	} {
		usageOperations[op] = op
	}
}

// maxUsageID bounds the event and request ids kept: the gateway makes
// UUIDs (36 bytes); anything longer is not one of its events.
const maxUsageID = 64

// usageEvent is the part of an audit event usage is read from
// (scanUsageEvent), as encoding/json would decode it.
type usageEvent struct {
	EventSource string          `json:"eventSource"`
	EventTime   string          `json:"eventTime"`
	EventName   string          `json:"eventName"`
	ErrorCode   string          `json:"errorCode"`
	RequestID   string          `json:"requestID"`
	EventID     string          `json:"eventID"`
	Resources   []usageResource `json:"resources"`
}

var eventNameField = []byte(`"eventName":"`)

// trackedName reads the event's name from its first "eventName" member
// without decoding the event. The gateway writes eventName before any
// member a caller controls (audit.Event's field order), so the first
// match is the event's own; this only skips events quickly, and those it
// keeps are decoded in full before anything is noted.
func trackedName(ev []byte) bool {
	i := bytes.Index(ev, eventNameField)
	if i < 0 {
		return false
	}
	rest := ev[i+len(eventNameField):]
	j := bytes.IndexByte(rest, '"')
	if j < 0 {
		return false
	}
	_, ok := usageOperations[string(rest[:j])]
	return ok
}

// noteUsage records, for each key a successful tracked operation names in
// its resources, that operation as the key's last use. Events are taken in
// log order, so the last one wins. An event that does not parse, failed,
// is not KMS's, or names no existing key, changes nothing: the audit store
// keeps every event whatever this makes of it. Called with f.mu held.
func (f *FSM) noteUsage(events [][]byte) {
	for _, b := range events {
		if !trackedName(b) {
			continue
		}
		ev, ok := scanUsageEvent(b)
		if !ok || ev.ErrorCode != "" || ev.EventSource != "kms.amazonaws.com" {
			continue
		}
		op, ok := usageOperations[ev.EventName]
		if !ok || len(ev.EventID) > maxUsageID || len(ev.RequestID) > maxUsageID {
			continue
		}
		t, err := time.Parse(time.RFC3339Nano, ev.EventTime)
		if err != nil {
			continue
		}
		at := t.UnixNano()
		for _, r := range ev.Resources {
			i := strings.LastIndex(r.ARN, ":key/")
			if i < 0 {
				continue
			}
			id := r.ARN[i+len(":key/"):]
			if _, ok := f.st.keys[id]; !ok {
				continue
			}
			k := f.st.ownKey(id)
			k.LastUsedDate, k.LastUsedOperation = at, op
			k.LastUsedEventId, k.LastUsedRequestId = ev.EventID, ev.RequestID
			if k.UsageTrackedSince == 0 {
				k.UsageTrackedSince = at
			}
		}
	}
}
