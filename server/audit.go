package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/keyraft/keyraft/arn"
	"github.com/keyraft/keyraft/audit"
	"github.com/keyraft/keyraft/cluster"
	"github.com/keyraft/keyraft/fsm"
	"github.com/keyraft/keyraft/fsm/fsmpb"
	"github.com/keyraft/keyraft/gateway"
	"github.com/keyraft/keyraft/kms"
)

// auditCommitTimeout bounds how long a request waits for its event: past
// it the client gets a retryable error and no answer.
const auditCommitTimeout = 10 * time.Second

// auditBatchWait is the most a batch of events waits for the company recent
// batches had (audit.Batcher). A Raft round here is 2–5 ms of fsyncs; a
// millisecond more per round let 16 clients share rounds instead of
// alternating between two (docs/performance.md).
const auditBatchWait = time.Millisecond

// proposeAudit is the batcher's way into Raft.
func (s *Server) proposeAudit(ctx context.Context, events [][]byte) error {
	cmd, err := fsm.NewAuditBatchCommand(events, s.clock.Now())
	if err != nil {
		return err
	}
	_, err = s.node.Apply(ctx, cmd)
	return err
}

// kmsEvent describes one KMS or IAM request for the audit log. Its
// parameters are the operation's audited members of req, the request the
// operation ran (nil when the body could not be decoded or the operation
// is unknown); its response elements only the loggable members of the
// answer. No plaintext, data keys, ciphertext or secrets.
func (s *Server) kmsEvent(r *http.Request, op *gateway.Op, api gateway.API, name, requestID, eventID, accessKeyID string, req, result any, kerr *kms.Error) *audit.Event {
	ev := s.baseEvent(r, eventName(name), "AwsApiCall", requestID, eventID)
	ev.RequestParameters = map[string]any{}
	if api == gateway.IAM {
		ev.EventSource = "iam.amazonaws.com"
	}
	if op != nil {
		ev.RequestParameters = op.Parameters(req)
		ev.ReadOnly = op.ReadOnly
	}
	ev.UserIdentity = s.identity(accessKeyID)
	if kerr != nil {
		ev.ErrorCode, ev.ErrorMessage = kerr.Type, kerr.Message
	} else {
		ev.ResponseElements = audit.ResponseElements(result)
	}
	if op != nil && op.Resource == gateway.Key {
		if arn := s.keyARN(ev); arn != "" {
			ev.Resources = []audit.Resource{{ARN: arn, AccountID: s.cfg.Account, Type: "AWS::KMS::Key"}}
		}
	}
	return ev
}

// baseEvent fills what every event has. A KMS request's ids are made when it
// arrives, since a write carries its event in its own command.
func (s *Server) baseEvent(r *http.Request, name, typ, requestID, eventID string) *audit.Event {
	ev := &audit.Event{
		EventVersion: audit.EventVersion, EventTime: s.clock.Now().UTC().Format(time.RFC3339Nano),
		EventSource: audit.EventSource, EventName: name, EventType: typ, AWSRegion: s.cfg.Region,
		RequestID: requestID, EventID: eventID, RecipientAccountID: s.cfg.Account, NodeID: s.cfg.NodeID,
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

// identity is the CloudTrail userIdentity of an access key.
func (s *Server) identity(accessKeyID string) *audit.UserIdentity {
	id := &audit.UserIdentity{Type: "IAMUser", AccessKeyID: accessKeyID, AccountID: s.cfg.Account}
	if ak, ok := s.fsm.Query().AccessKey(accessKeyID); ok {
		id.ARN = ak.PrincipalARN
		if strings.HasSuffix(ak.PrincipalARN, ":root") {
			id.Type, id.PrincipalID = "Root", s.cfg.Account
		}
	} else {
		id.Type = "Unknown"
	}
	return id
}

// keyARN finds the key an event is about, from the answer or the request.
func (s *Server) keyARN(ev *audit.Event) string {
	prefix := arn.Key(s.cfg.Region, s.cfg.Account, "")
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
func (s *Server) commitEvent(ctx context.Context, origin string, ev *audit.Event) error {
	b, err := json.Marshal(ev)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, auditCommitTimeout)
	defer cancel()
	return s.batcher.Commit(ctx, origin, b)
}

// recordOperatorEvent audits an operator action once: init and
// remove-peer, which run on the leader and answer only after their event.
func (s *Server) recordOperatorEvent(ctx context.Context, r *http.Request, accessKeyID, name string, params map[string]any, opErr error) error {
	b, err := s.operatorEvent(r, accessKeyID, name, params, opErr)
	if err != nil {
		return err
	}
	if err := s.commitOperatorEvent(ctx, b); err != nil {
		s.log.Warn("operator action could not be audited", "action", name, "error", err)
		return fmt.Errorf("audit: %w", err)
	}
	return nil
}

// operatorAuditPatience is how long the event of an operator action that
// cannot wait for a leader (seal, unseal) keeps being offered to one.
const operatorAuditPatience = 30 * time.Second

// maxPendingOperatorEvents bounds the events being offered at once. Unseal
// needs no principal (a share is its own proof), so without a bound anyone
// could pile up a goroutine per request while the cluster has no leader.
const maxPendingOperatorEvents = 256

// auditAsync records an operator action that must not wait for (or
// depend on) a leader: unseal and seal. While an attempt provably did not
// reach the Raft log it is made again, to whichever node leads by then:
// sealing the leader hands its leadership off, and the seal's own event
// must go to the next leader rather than be lost. An attempt whose fate
// is open is not repeated, so no event is logged twice. At most
// maxPendingOperatorEvents wait at once; past that an event is dropped and
// the drop logged.
func (s *Server) auditAsync(r *http.Request, accessKeyID, name string, params map[string]any, opErr error) {
	b, err := s.operatorEvent(r, accessKeyID, name, params, opErr)
	if err != nil {
		s.log.Warn("operator action could not be audited", "action", name, "error", err)
		return
	}
	s.offerEvent(name, b)
}

// offerEvent commits an event in the background (auditAsync).
func (s *Server) offerEvent(name string, b []byte) {
	select {
	case s.asyncAudits <- struct{}{}:
	default:
		s.log.Warn("operator action could not be audited: too many operator events are waiting for a leader", "action", name, "waiting", cap(s.asyncAudits))
		return
	}
	go func() {
		defer func() { <-s.asyncAudits }()
		deadline := time.Now().Add(operatorAuditPatience)
		for {
			err := s.commitOperatorEvent(context.Background(), b)
			if err == nil {
				return
			}
			if !cluster.NotAppended(err) || time.Now().After(deadline) {
				s.log.Warn("operator action could not be audited", "action", name, "error", err)
				return
			}
			select {
			case <-s.stop:
				return
			case <-time.After(100 * time.Millisecond):
			}
		}
	}()
}

// operatorEvent is the audit event of an operator action, signed for by
// accessKeyID when there is one.
func (s *Server) operatorEvent(r *http.Request, accessKeyID, name string, params map[string]any, opErr error) ([]byte, error) {
	ev := s.baseEvent(r, name, "KeyraftOperatorCall", uuid.NewString(), uuid.NewString())
	ev.EventSource = "keyraft.operator"
	ev.RequestParameters = params
	if params == nil {
		ev.RequestParameters = map[string]any{}
	}
	if accessKeyID != "" {
		ev.UserIdentity = s.identity(accessKeyID)
	}
	ev.ResponseElements = map[string]any{"nodeId": s.cfg.NodeID}
	var refused *operatorRefusal
	switch {
	case errors.As(opErr, &refused):
		ev.ErrorCode, ev.ErrorMessage = "AccessDenied", refused.msg
	case opErr != nil:
		ev.ErrorCode, ev.ErrorMessage = "OperatorError", opErr.Error()
	}
	return json.Marshal(ev)
}

// commitOperatorEvent commits one operator event: through the batcher on
// the leader, and sent to the leader from anywhere else.
func (s *Server) commitOperatorEvent(ctx context.Context, b []byte) error {
	ctx, cancel := context.WithTimeout(ctx, auditCommitTimeout)
	defer cancel()
	if s.node.IsLeader() {
		return s.batcher.Commit(ctx, "", b)
	}
	return s.node.ForwardAudit(ctx, b)
}

// trimAudit proposes a retention trim when the log holds more events, or
// older ones, than the settings allow. The trim is itself an event. Age
// counts on the cluster clock, and only when byAge: not while this
// server's wall clock disagrees with it.
func (s *Server) trimAudit(ctx context.Context, byAge bool) error {
	retain, age, mib := s.cfg.AuditRetainEvents, s.cfg.AuditRetainAge, s.cfg.AuditRetainMiB
	if retain <= 0 && age <= 0 && mib <= 0 {
		return nil
	}
	head, _ := s.auditStore.Head()
	first := s.auditStore.First()
	var before uint64
	if retain > 0 && first > 0 && head-first+1 > uint64(retain) {
		before = head - uint64(retain) + 1
	}
	if age > 0 && byAge {
		cutoff := s.clock.Now().Add(-age)
		err := s.auditStore.Export(audit.Filter{}, 0, func(r audit.Record) error {
			var ev struct {
				EventTime string `json:"eventTime"`
			}
			if json.Unmarshal(r.Event, &ev) == nil {
				if t, err := time.Parse(time.RFC3339Nano, ev.EventTime); err == nil && t.After(cutoff) {
					return errStopScan
				}
			}
			before = max(before, r.Seq+1)
			return nil
		})
		if err != nil && !errors.Is(err, errStopScan) {
			return err
		}
	}
	if mib > 0 {
		before = max(before, s.auditStore.SizeWindow(int64(mib)<<20))
	}
	before = min(before, head) // the newest event always stays
	if before <= first {
		return nil
	}
	ev := s.baseEvent(nil, "AuditTrim", "KeyraftServiceEvent", uuid.NewString(), uuid.NewString())
	ev.EventSource = "keyraft.audit"
	ev.RequestParameters = map[string]any{"trimmedBefore": before, "retainEvents": retain, "retainAge": age.String(), "retainMiB": mib}
	b, err := json.Marshal(ev)
	if err != nil {
		return err
	}
	cmd, err := fsm.NewCommand(fsm.CmdAuditTrim, &fsmpb.AuditTrim{BeforeSeq: before, Event: b}, s.clock.Now())
	if err != nil {
		return err
	}
	_, err = s.node.ApplyFreeing(ctx, cmd) // a trim frees space: it goes on under a NOSPACE alarm
	return err
}

var errStopScan = errors.New("stop scan")
