package audit

import (
	"encoding/json"
	"strings"
	"time"
)

// Filter selects events for export. Zero fields select everything.
type Filter struct {
	After     uint64    // only events with a greater sequence number
	Since     time.Time // eventTime at or after
	Until     time.Time // eventTime before
	KeyID     string    // key id or ARN the event is about
	EventName string
}

type filterFields struct {
	EventTime         string         `json:"eventTime"`
	EventName         string         `json:"eventName"`
	RequestParameters map[string]any `json:"requestParameters"`
	Resources         []Resource     `json:"resources"`
}

// Match reports whether a record passes the filter.
func (f Filter) Match(r Record) bool {
	if r.Seq <= f.After {
		return false
	}
	if f.Since.IsZero() && f.Until.IsZero() && f.KeyID == "" && f.EventName == "" {
		return true
	}
	var ev filterFields
	if json.Unmarshal(r.Event, &ev) != nil {
		return false
	}
	if f.EventName != "" && ev.EventName != f.EventName {
		return false
	}
	if !f.Since.IsZero() || !f.Until.IsZero() {
		t, err := time.Parse(time.RFC3339Nano, ev.EventTime)
		if err != nil || (!f.Since.IsZero() && t.Before(f.Since)) || (!f.Until.IsZero() && !t.Before(f.Until)) {
			return false
		}
	}
	if f.KeyID != "" && !aboutKey(ev, f.KeyID) {
		return false
	}
	return true
}

func aboutKey(ev filterFields, key string) bool {
	for _, r := range ev.Resources {
		if r.ARN == key || strings.HasSuffix(r.ARN, "/"+key) {
			return true
		}
	}
	if v, ok := ev.RequestParameters["keyId"].(string); ok && (v == key || strings.HasSuffix(v, "/"+key)) {
		return true
	}
	return false
}

// Export calls fn with every matching record, oldest first, stopping after
// limit records when limit > 0.
func (s *Store) Export(f Filter, limit int, fn func(Record) error) error {
	n := 0
	return s.Read(func(v *View) error {
		return v.Each(f.After, func(r Record) (bool, error) {
			if !f.Match(r) {
				return true, nil
			}
			n++
			return limit <= 0 || n < limit, fn(r)
		})
	})
}
