package gateway

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/hashicorp/go-hclog"

	"github.com/keyraft/keyraft/audit"
	"github.com/keyraft/keyraft/cluster"
	"github.com/keyraft/keyraft/fsm"
	"github.com/keyraft/keyraft/internal/awserr"
	"github.com/keyraft/keyraft/internal/failtally"
	"github.com/keyraft/keyraft/kms"
	"github.com/keyraft/keyraft/metrics"
	"github.com/keyraft/keyraft/transport/awsjson"
	"github.com/keyraft/keyraft/transport/sigv4"
)

// Gateway serves the KMS and IAM requests of the API listener (POST /),
// on the leader, or by forwarding them to it. The node that runs it fills
// every field before the first request.
type Gateway struct {
	Log    hclog.Logger
	State  fsm.Query
	Node   *cluster.Node
	Events *Events
	// Sealed reports whether the node is sealed: a sealed node serves no
	// request, even as a follower.
	Sealed   func() bool
	Services Services
	// KMSVerifier and IAMVerifier check the signatures of the KMS and the
	// IAM operations, which are signed for different services.
	KMSVerifier, IAMVerifier *sigv4.Verifier
	// Batcher commits the events of requests that change nothing.
	Batcher *audit.Batcher
	// AuthFailures counts the requests refused for their signature; the
	// operator API summarises them.
	AuthFailures *failtally.Tally
	// Metrics counts requests and forwards; nil counts nothing.
	Metrics *metrics.Gateway
}

// Serve is the one way in for KMS and IAM requests, in one pass: a
// bounded body read, the signature, then (on the leader) the caller, one
// decoding of the body, authorization, execution and the audit event, all
// from that same decoded request (serveLocal).
func (g *Gateway) Serve(w http.ResponseWriter, r *http.Request, from Origin) {
	if !from.Forwarded {
		// Counted where the client sent it: a forwarded request is
		// counted once, by the follower, with the leader's answer.
		start := time.Now()
		defer func() { g.Metrics.Request(metricsOp(r), answeredError(w), time.Since(start)) }()
	}
	if r.Method != http.MethodPost {
		awsjson.WriteError(w, awserr.UnknownOperation("KMS requests are POST /"))
		return
	}
	body, err := awsjson.ReadBody(w, r)
	if errors.Is(err, awsjson.ErrTooLarge) {
		// Refused before its signature could be checked: counted with
		// the requests that fail authentication.
		g.AuthFailures.Count("RequestTooLarge", SourceIP(r), ClaimedKey(r))
		awsjson.WriteError(w, awserr.Serialization(http.StatusRequestEntityTooLarge, fmt.Sprintf("The request body is larger than %d bytes.", awsjson.MaxBody)))
		return
	}
	if err != nil {
		awsjson.WriteError(w, awserr.Serialization(http.StatusBadRequest, "The request body could not be read."))
		return
	}
	// A sealed node is out of service even as a follower, as a sealed Vault
	// standby is: operators unseal each node before it takes traffic.
	if g.Sealed() {
		writeKMSError(w, kms.Sealed())
		return
	}
	op, api, name := Lookup(r.Header.Get("X-Amz-Target"))
	verifier := g.KMSVerifier
	if api == IAM {
		verifier = g.IAMVerifier
	}
	// Every node checks signatures itself, so a flood of unsigned or
	// forged requests costs the leader nothing. An access key this node
	// does not know yet may be one the leader has just created: the
	// leader judges those.
	akid, verr := verifier.Verify(r, body)
	if verr != nil && (g.Node.IsLeader() || !unrecognized(verr)) {
		g.refuseUnauthenticated(w, r, from, verr)
		return
	}
	if !g.Node.IsLeader() {
		served, err := Forward(g.Node, w, r, from, body)
		switch {
		case errors.Is(err, ErrLeadershipMoved):
			g.Metrics.Forwarded(metrics.ForwardLeadershipMoved)
			writeKMSError(w, kms.Unavailable("Leadership moved while forwarding; retry."))
			return
		case err != nil:
			g.Metrics.Forwarded(metrics.ForwardNoLeader)
			g.Log.Debug("forward to leader failed", "error", err)
			writeKMSError(w, kms.Unavailable(NoLeaderMsg(g.Node)))
			return
		case served:
			g.Metrics.Forwarded(metrics.ForwardAnswered)
			// A failure the leader found is counted here, where the
			// request was received (the leader does not count forwarded
			// requests).
			if typ := w.Header().Get("X-Amzn-Errortype"); authFailureTypes[typ] {
				g.AuthFailures.Count(typ, SourceIP(r), ClaimedKey(r))
			}
			return
		}
	}
	if verr != nil {
		g.refuseUnauthenticated(w, r, from, verr)
		return
	}
	g.serveLocal(w, r, from, body, op, api, name, akid)
}

// serveLocal answers a KMS or IAM request on the leader, signed by
// accessKeyID. Whatever the outcome, the request's audit event is
// committed through Raft before the answer leaves: if it cannot be, the
// client gets a retryable error instead. That commit is also what proves
// this node still leads (fail closed). A write carries its event in the
// command that makes the change, so no change can commit without its
// event. op is nil for an operation keyraft does not serve.
func (g *Gateway) serveLocal(w http.ResponseWriter, r *http.Request, from Origin, body []byte, op *Op, api API, name, accessKeyID string) {
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	err := g.Node.WaitReady(ctx)
	cancel()
	if err != nil {
		writeKMSError(w, kms.Unavailable(NoLeaderMsg(g.Node)))
		return
	}
	caller, ok := CallerOf(g.State, accessKeyID)
	if !ok {
		// Deleted since the signature was checked.
		g.refuseUnauthenticated(w, r, from, sigv4.ErrUnrecognizedClient())
		return
	}
	caller.SecureTransport = from.SecureTransport(r)
	var (
		req  any
		res  any
		kerr *awserr.Error
	)
	// One request, one event, whichever way it is committed: a write carries
	// it in its own command (the Recorder), anything else commits it below.
	// Both are built from req, the request the operation ran.
	requestID, eventID := uuid.NewString(), uuid.NewString()
	eventFor := func(res any, kerr *awserr.Error) *audit.Event {
		return g.Events.request(r, op, api, name, requestID, eventID, caller.AccessKeyID, req, res, kerr)
	}
	rec := &audit.Recorder{Event: func(answer any) []byte {
		b, err := encodeEvent(eventFor(answer, nil))
		if err != nil {
			return nil // the command then goes without it, and Outcome says so
		}
		return b
	}}
	switch {
	case op == nil && api == IAM:
		kerr = awserr.UnknownOperation(fmt.Sprintf("Unknown IAM operation %q", eventName(name)))
	case op == nil && api == KMS && unsupportedOperation(name) != nil:
		kerr = unsupportedOperation(name)
	case op == nil:
		kerr = awserr.UnknownOperation("")
	default:
		if req, kerr = op.Decode(body); kerr == nil {
			res, kerr = op.Run(r.Context(), g.Services, caller, rec, req)
		}
	}
	switch rec.Outcome() {
	case audit.Recorded:
		// The change and its event committed as one entry.
	case audit.Indeterminate:
		// The command, and its event with it, may still commit: a second
		// event would make two for one request. The client gets a
		// retryable error, so nothing is answered without its event.
		// No request id either: the id promises a committed event.
		g.Log.Warn("request not answered: its change may or may not commit (leadership may have changed)", "op", eventName(name))
		if kerr == nil {
			kerr = kms.Unavailable("The request's outcome is unknown (leadership may have changed); retry.")
		}
		writeKMSError(w, kerr)
		return
	default:
		// A client that stops waiting does not take its request's event
		// with it: the request was served, so it is recorded.
		if err := g.commitEvent(context.WithoutCancel(r.Context()), r.RemoteAddr, eventFor(res, kerr)); err != nil {
			g.Log.Warn("request not answered: its audit event was not committed", "op", eventName(name), "error", err)
			if ns := noSpaceMsg(err); ns != "" {
				writeKMSError(w, kms.Unavailable(ns))
				return
			}
			writeKMSError(w, kms.Unavailable("The request could not be recorded in the audit log (leadership may have changed); retry."))
			return
		}
	}
	w.Header().Set("X-Amzn-Requestid", requestID)
	if kerr != nil {
		writeKMSError(w, kerr)
		return
	}
	awsjson.WriteResult(w, res)
}

// eventName bounds what an unknown operation can write into the log.
func eventName(op string) string {
	if op == "" {
		return "Unknown"
	}
	if len(op) > 64 {
		op = op[:64]
	}
	return strings.ToValidUTF8(op, "?")
}

func writeKMSError(w http.ResponseWriter, e *awserr.Error) {
	awsjson.WriteError(w, e)
}
