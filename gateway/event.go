package gateway

import (
	"context"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/keyraft/keyraft/arn"
	"github.com/keyraft/keyraft/audit"
	"github.com/keyraft/keyraft/fsm"
	"github.com/keyraft/keyraft/internal/awserr"
)

// AuditCommitTimeout bounds how long a request waits for its event: past
// it the client gets a retryable error and no answer. Operator events
// wait as long.
const AuditCommitTimeout = 10 * time.Second

// Events builds what every audit event of this node has in common, for the
// gateway's requests, the operator API's actions and the node's own
// housekeeping.
type Events struct {
	Region, Account, NodeID string
	State                   fsm.Query
	// Now is the cluster clock, which every event's time comes from.
	Now func() time.Time
}

// request describes one KMS or IAM request for the audit log. Its
// parameters are the operation's audited members of req, the request the
// operation ran (nil when the body could not be decoded or the operation
// is unknown); its response elements only the loggable members of the
// answer. No plaintext, data keys, ciphertext or secrets.
func (e *Events) request(r *http.Request, op *Op, api API, name, requestID, eventID, accessKeyID string, req, result any, kerr *awserr.Error) *audit.Event {
	ev := e.Base(r, eventName(name), "AwsApiCall", requestID, eventID)
	ev.RequestParameters = map[string]any{}
	if api == IAM {
		ev.EventSource = "iam.amazonaws.com"
	}
	if op != nil {
		ev.RequestParameters = op.Parameters(req)
		ev.ReadOnly = op.ReadOnly
	}
	ev.UserIdentity = e.Identity(accessKeyID)
	if kerr != nil {
		ev.ErrorCode, ev.ErrorMessage = kerr.Type, kerr.Message
	} else {
		ev.ResponseElements = audit.ResponseElements(result)
	}
	if op != nil && op.Resource == Key {
		if arn := e.keyARN(ev); arn != "" {
			ev.Resources = []audit.Resource{{ARN: arn, AccountID: e.Account, Type: "AWS::KMS::Key"}}
		}
		// ReEncrypt used two keys; CloudTrail lists both, and both keys'
		// last usage (fsm/usage.go) is read from this list.
		if src, ok := ev.ResponseElements["sourceKeyId"].(string); ok && len(ev.Resources) == 1 &&
			src != ev.Resources[0].ARN && strings.HasPrefix(src, arn.Key(e.Region, e.Account, "")) {
			ev.Resources = append(ev.Resources, audit.Resource{ARN: src, AccountID: e.Account, Type: "AWS::KMS::Key"})
		}
	}
	return ev
}

// Base fills what every event has; r is the request behind it, or nil. A
// KMS request's ids are made when it arrives, since a write carries its
// event in its own command.
func (e *Events) Base(r *http.Request, name, typ, requestID, eventID string) *audit.Event {
	ev := &audit.Event{
		EventVersion: audit.EventVersion, EventTime: e.Now().UTC().Format(time.RFC3339Nano),
		EventSource: audit.EventSource, EventName: name, EventType: typ, AWSRegion: e.Region,
		RequestID: requestID, EventID: eventID, RecipientAccountID: e.Account, NodeID: e.NodeID,
	}
	if r != nil {
		ev.UserAgent = boundedUserAgent(r.UserAgent())
		ev.SourceIPAddress = r.RemoteAddr
		if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
			ev.SourceIPAddress = host
		}
	}
	return ev
}

// maxUserAgent bounds the one header an event copies: headers may be as
// long as the server's 1 MB limit, and every event is replicated and kept.
const maxUserAgent = 1 << 10

func boundedUserAgent(ua string) string {
	if len(ua) > maxUserAgent {
		ua = ua[:maxUserAgent]
	}
	return strings.ToValidUTF8(ua, "?")
}

// Identity is the CloudTrail userIdentity of an access key.
func (e *Events) Identity(accessKeyID string) *audit.UserIdentity {
	id := &audit.UserIdentity{Type: "IAMUser", AccessKeyID: accessKeyID, AccountID: e.Account}
	if ak, ok := e.State.AccessKey(accessKeyID); ok {
		id.ARN = ak.PrincipalARN
		if strings.HasSuffix(ak.PrincipalARN, ":root") {
			id.Type, id.PrincipalID = "Root", e.Account
		}
	} else {
		id.Type = "Unknown"
	}
	return id
}

// keyARN finds the key an event is about, from the answer or the request.
func (e *Events) keyARN(ev *audit.Event) string {
	prefix := arn.Key(e.Region, e.Account, "")
	if v, ok := ev.ResponseElements["keyId"].(string); ok && strings.HasPrefix(v, prefix) {
		return v
	}
	if md, ok := ev.ResponseElements["keyMetadata"].(map[string]any); ok {
		if v, ok := md["arn"].(string); ok {
			return v
		}
	}
	for _, member := range []string{"keyId", "targetKeyId"} {
		if v, ok := ev.RequestParameters[member].(string); ok {
			if strings.HasPrefix(v, prefix) {
				return v
			}
			if _, err := uuid.Parse(v); err == nil {
				return prefix + v
			}
		}
	}
	return ""
}

// commitEvent commits one event of a request from origin (the client's
// address and port) through the leader's group commit and waits for it.
// Only a leader can; others get cluster.ErrNotLeader.
func (g *Gateway) commitEvent(ctx context.Context, origin string, ev *audit.Event) error {
	b, err := encodeEvent(ev)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, AuditCommitTimeout)
	defer cancel()
	return g.Batcher.Commit(ctx, origin, b)
}
