package gateway

import (
	"github.com/keyraft/keyraft/audit"
	"github.com/keyraft/keyraft/transport/awsjson"
)

// encodeEvent is ev's JSON in a buffer of its own, which an Encrypt
// event (about 1.1 KB) fits without growing.
func encodeEvent(ev *audit.Event) ([]byte, error) { return appendEvent(make([]byte, 0, 1536), ev) }

// appendEvent writes ev exactly as json.Marshal writes an audit.Event
// (FuzzAppendEvent holds the two equal), without reflection: encoding every
// request's event through encoding/json was 3 % of the leader's CPU and
// most of its small allocations under Encrypt load. A field added to
// audit.Event must be added here; TestAppendEventCoversEveryField fails
// until it is.
func appendEvent(b []byte, ev *audit.Event) ([]byte, error) {
	str := func(name, v string, omitEmpty bool) {
		if omitEmpty && v == "" {
			return
		}
		b = append(b, ',', '"')
		b = append(b, name...)
		b = append(b, '"', ':')
		b = awsjson.AppendString(b, v)
	}
	b = append(b, `{"eventVersion":`...)
	b = awsjson.AppendString(b, ev.EventVersion)
	str("eventTime", ev.EventTime, false)
	str("eventSource", ev.EventSource, false)
	str("eventName", ev.EventName, false)
	str("eventType", ev.EventType, false)
	str("awsRegion", ev.AWSRegion, false)
	str("sourceIPAddress", ev.SourceIPAddress, true)
	str("userAgent", ev.UserAgent, true)
	if id := ev.UserIdentity; id != nil {
		b = append(b, `,"userIdentity":{"type":`...)
		b = awsjson.AppendString(b, id.Type)
		str("principalId", id.PrincipalID, true)
		str("arn", id.ARN, true)
		str("accountId", id.AccountID, true)
		str("accessKeyId", id.AccessKeyID, true)
		b = append(b, '}')
	}
	var err error
	b = append(b, `,"requestParameters":`...)
	if b, err = awsjson.AppendValue(b, ev.RequestParameters); err != nil {
		return nil, err
	}
	b = append(b, `,"responseElements":`...)
	if b, err = awsjson.AppendValue(b, ev.ResponseElements); err != nil {
		return nil, err
	}
	str("errorCode", ev.ErrorCode, true)
	str("errorMessage", ev.ErrorMessage, true)
	str("requestID", ev.RequestID, false)
	str("eventID", ev.EventID, false)
	if ev.ReadOnly {
		b = append(b, `,"readOnly":true`...)
	} else {
		b = append(b, `,"readOnly":false`...)
	}
	if len(ev.Resources) > 0 {
		b = append(b, `,"resources":[`...)
		for i, r := range ev.Resources {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"ARN":`...)
			b = awsjson.AppendString(b, r.ARN)
			str("accountId", r.AccountID, false)
			str("type", r.Type, false)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	str("recipientAccountId", ev.RecipientAccountID, true)
	str("keyraftNodeId", ev.NodeID, true)
	return append(b, '}'), nil
}
