package gateway

import (
	"reflect"
	"unicode/utf8"

	"github.com/keyraft/keyraft/audit"
	"github.com/keyraft/keyraft/transport/awsjson"
)

// Bounds on what a request can write into an event. A body is at most
// 64 KiB, but one event per request is replicated to every node and kept:
// identifiers and names are far shorter than maxAuditedString, and a
// policy (32 KiB at most in AWS) is the one long text CloudTrail records.
const (
	maxAuditedString = 1 << 10
	maxAuditedPolicy = 32 << 10
)

// Parameters is the event's record of a request Decode made: the
// operation's audited members that the request set, named in CloudTrail's
// lower camel case, strings bounded. req may be nil (a body that could not
// be decoded records no parameters).
func (o *Op) Parameters(req any) map[string]any {
	out := map[string]any{}
	if req == nil {
		return out
	}
	v := reflect.ValueOf(req).Elem()
	for _, name := range o.Audited {
		f, ok := awsjson.Field(v, name)
		if !ok || f.IsZero() {
			continue
		}
		limit := maxAuditedString
		if name == "Policy" || name == "PolicyDocument" {
			limit = maxAuditedPolicy
		}
		out[audit.LowerFirst(name)] = auditValue(f, limit)
	}
	return out
}

// auditValue is v as JSON would show it, with strings bounded. Nested
// structures (tags, grant constraints) hold no secrets and are recorded
// whole; map keys (an encryption context's) keep their case.
func auditValue(v reflect.Value, limit int) any {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return nil
		}
		return auditValue(v.Elem(), limit)
	case reflect.String:
		return bound(v.String(), limit)
	case reflect.Slice:
		if v.IsNil() {
			return nil
		}
		out := make([]any, v.Len())
		for i := range out {
			out[i] = auditValue(v.Index(i), limit)
		}
		return out
	case reflect.Map:
		if v.IsNil() {
			return nil
		}
		out := make(map[string]any, v.Len())
		for it := v.MapRange(); it.Next(); {
			out[bound(it.Key().String(), maxAuditedString)] = auditValue(it.Value(), limit)
		}
		return out
	case reflect.Struct:
		out := map[string]any{}
		for i := range v.NumField() {
			sf := v.Type().Field(i)
			if !sf.IsExported() || v.Field(i).IsZero() {
				continue
			}
			out[audit.LowerFirst(sf.Name)] = auditValue(v.Field(i), limit)
		}
		return out
	}
	return v.Interface()
}

// bound cuts s to at most limit bytes, on a character boundary, and says so.
func bound(s string, limit int) string {
	if len(s) <= limit {
		return s
	}
	i := limit
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i] + "...(truncated)"
}
