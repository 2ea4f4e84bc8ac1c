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

	"github.com/keyraft/keyraft/audit"
	"github.com/keyraft/keyraft/cluster"
	"github.com/keyraft/keyraft/gateway"
	"github.com/keyraft/keyraft/kms"
	"github.com/keyraft/keyraft/transport/awsjson"
	"github.com/keyraft/keyraft/transport/clusterpb"
	"github.com/keyraft/keyraft/transport/sigv4"
)

type ctxKey int

// forwardedKey marks a request that a follower forwarded: it must be served
// here or refused, never forwarded again.
const forwardedKey ctxKey = 1

func isForwarded(ctx context.Context) bool { return ctx.Value(forwardedKey) != nil }

// ServeHTTP routes the API listener: KMS at POST /, operator API below /v1/sys/.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path == "/":
		s.serveKMS(w, r)
	case strings.HasPrefix(r.URL.Path, "/v1/sys/"):
		s.serveOperator(w, r)
	default:
		http.NotFound(w, r)
	}
}

// errNoLeaderMsg is the retryable answer while no leader can be reached.
const errNoLeaderMsg = "No keyraft leader is available right now; retry."

// serveKMS is the one way in for KMS and IAM requests, in one pass: a
// bounded body read, the signature, then (on the leader) the caller, one
// decoding of the body, authorization, execution and the audit event, all
// from that same decoded request (serveKMSLocal).
func (s *Server) serveKMS(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		awsjson.WriteError(w, "UnknownOperationException", "KMS requests are POST /", http.StatusBadRequest)
		return
	}
	body, err := awsjson.ReadBody(w, r)
	if errors.Is(err, awsjson.ErrTooLarge) {
		// Refused before its signature could be checked: counted with
		// the requests that fail authentication.
		s.authFailures.Count("RequestTooLarge", sourceIP(r), claimedKey(r))
		awsjson.WriteError(w, "SerializationException", fmt.Sprintf("The request body is larger than %d bytes.", awsjson.MaxBody), http.StatusRequestEntityTooLarge)
		return
	}
	if err != nil {
		awsjson.WriteError(w, "SerializationException", "The request body could not be read.", http.StatusBadRequest)
		return
	}
	// A sealed node is out of service even as a follower, as a sealed Vault
	// standby is: operators unseal each node before it takes traffic.
	if _, err := s.barrier.Keyring(); err != nil {
		writeKMSError(w, kms.Sealed())
		return
	}
	op, api, name := gateway.Lookup(r.Header.Get("X-Amz-Target"))
	verifier := s.verifier
	if api == gateway.IAM {
		verifier = s.iamVerifier
	}
	// Every node checks signatures itself, so a flood of unsigned or
	// forged requests costs the leader nothing. An access key this node
	// does not know yet may be one the leader has just created: the
	// leader judges those.
	akid, verr := verifier.Verify(r, body)
	if verr != nil && (s.node.IsLeader() || !unrecognized(verr)) {
		s.refuseUnauthenticated(w, r, verr)
		return
	}
	if !s.node.IsLeader() {
		served, err := s.forward(w, r, body)
		switch {
		case errors.Is(err, errLeadershipMoved):
			writeKMSError(w, kms.Unavailable("Leadership moved while forwarding; retry."))
			return
		case err != nil:
			s.log.Debug("forward to leader failed", "error", err)
			writeKMSError(w, kms.Unavailable(s.noLeaderMsg()))
			return
		case served:
			// A failure the leader found is counted here, where the
			// request was received (the leader does not count forwarded
			// requests).
			if typ := w.Header().Get("X-Amzn-Errortype"); authFailureTypes[typ] {
				s.authFailures.Count(typ, sourceIP(r), claimedKey(r))
			}
			return
		}
	}
	if verr != nil {
		s.refuseUnauthenticated(w, r, verr)
		return
	}
	s.serveKMSLocal(w, r, body, op, api, name, akid)
}

// refuseUnauthenticated answers a request whose signature failed. It is
// counted, not recorded: anyone can send such requests, as many as they
// like, and an event each would let them fill the replicated log with
// parameters of their choosing under a name of their choosing.
// summariseAuthFailures records the counts.
func (s *Server) refuseUnauthenticated(w http.ResponseWriter, r *http.Request, err error) {
	kerr := authError(err)
	if !isForwarded(r.Context()) {
		s.authFailures.Count(kerr.Type, sourceIP(r), claimedKey(r))
	}
	writeKMSError(w, kerr)
}

// authFailureTypes are the answers to requests that failed authentication.
var authFailureTypes = map[string]bool{
	sigv4.TypeMissingAuthenticationToken: true, sigv4.TypeIncompleteSignature: true,
	sigv4.TypeInvalidSignature: true, sigv4.TypeUnrecognizedClient: true,
}

// unrecognized reports an access key the verifier does not know.
func unrecognized(err error) bool {
	var ae *sigv4.AuthError
	return errors.As(err, &ae) && ae.Type == sigv4.TypeUnrecognizedClient
}

// claimedKey is the access key id a request claims to be signed with.
func claimedKey(r *http.Request) string {
	if a, err := sigv4.ParseAuthorization(r.Header.Get("Authorization")); err == nil {
		return a.AccessKeyID
	}
	if cred := r.URL.Query().Get("X-Amz-Credential"); cred != "" {
		id, _, _ := strings.Cut(cred, "/")
		return id
	}
	return ""
}

// sourceIP is the client's address without its port.
func sourceIP(r *http.Request) string {
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return host
	}
	return r.RemoteAddr
}

// errLeadershipMoved: a forwarded request reached a node that no longer
// leads; it is refused rather than forwarded again.
var errLeadershipMoved = errors.New("leadership moved while forwarding")

// forward sends the request to the leader and copies its answer. It returns
// served=false when this node turned out to be the leader and must serve the
// request itself, and an error, for the caller to answer in its own format,
// when no leader could answer.
func (s *Server) forward(w http.ResponseWriter, r *http.Request, body []byte) (served bool, err error) {
	if isForwarded(r.Context()) {
		return false, errLeadershipMoved
	}
	resp, err := s.node.Forward(r.Context(), toProto(r, body))
	if errors.Is(err, cluster.ErrNotLeader) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	writeForwarded(w, resp)
	return true, nil
}

// writeForwarded copies the leader's answer to the client unchanged.
func writeForwarded(w http.ResponseWriter, resp *clusterpb.HTTPResponse) {
	for _, h := range resp.Headers {
		for _, v := range h.Values {
			w.Header().Add(h.Name, v)
		}
	}
	w.WriteHeader(int(resp.Status))
	_, _ = w.Write(resp.Body)
	clear(resp.Body) // it may carry a plaintext or init's shares; nothing reads it again
}

// serveKMSLocal answers a KMS or IAM request on the leader, signed by
// accessKeyID. Whatever the outcome, the request's audit event is
// committed through Raft before the answer leaves: if it cannot be, the
// client gets a retryable error instead. That commit is also what proves
// this node still leads (fail closed). A write carries its event in the
// command that makes the change, so no change can commit without its
// event. op is nil for an operation keyraft does not serve.
func (s *Server) serveKMSLocal(w http.ResponseWriter, r *http.Request, body []byte, op *gateway.Op, api gateway.API, name, accessKeyID string) {
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	err := s.node.WaitReady(ctx)
	cancel()
	if err != nil {
		writeKMSError(w, kms.Unavailable(s.noLeaderMsg()))
		return
	}
	caller, ok := s.caller(accessKeyID)
	if !ok {
		// Deleted since the signature was checked.
		s.refuseUnauthenticated(w, r, &sigv4.AuthError{Type: sigv4.TypeUnrecognizedClient, Message: "The security token included in the request is invalid.", Status: http.StatusBadRequest})
		return
	}
	caller.SecureTransport = secureTransport(r)
	var (
		req  any
		res  any
		kerr *kms.Error
	)
	// One request, one event, whichever way it is committed: a write carries
	// it in its own command (the Recorder), anything else commits it below.
	// Both are built from req, the request the operation ran.
	requestID, eventID := uuid.NewString(), uuid.NewString()
	eventFor := func(res any, kerr *kms.Error) *audit.Event {
		return s.kmsEvent(r, op, api, name, requestID, eventID, caller.AccessKeyID, req, res, kerr)
	}
	rec := &audit.Recorder{Event: func(answer any) []byte {
		b, err := json.Marshal(eventFor(answer, nil))
		if err != nil {
			return nil // the command then goes without it, and Outcome says so
		}
		return b
	}}
	switch {
	case op == nil && api == gateway.IAM:
		kerr = &kms.Error{Type: "UnknownOperationException", Message: fmt.Sprintf("Unknown IAM operation %q", eventName(name)), Status: http.StatusBadRequest}
	case op == nil:
		kerr = &kms.Error{Type: "UnknownOperationException", Status: http.StatusBadRequest}
	default:
		if req, kerr = op.Decode(body); kerr == nil {
			res, kerr = op.Run(r.Context(), s.services, caller, rec, req)
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
		s.log.Warn("request not answered: its change may or may not commit (leadership may have changed)", "op", eventName(name))
		if kerr == nil {
			kerr = kms.Unavailable("The request's outcome is unknown (leadership may have changed); retry.")
		}
		writeKMSError(w, kerr)
		return
	default:
		// A client that stops waiting does not take its request's event
		// with it: the request was served, so it is recorded.
		if err := s.commitEvent(context.WithoutCancel(r.Context()), r.RemoteAddr, eventFor(res, kerr)); err != nil {
			s.log.Warn("request not answered: its audit event was not committed", "op", eventName(name), "error", err)
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

// caller is the principal an access key belongs to.
func (s *Server) caller(accessKeyID string) (kms.Caller, bool) {
	ak, ok := s.fsm.AccessKey(accessKeyID)
	if !ok {
		return kms.Caller{}, false
	}
	return kms.Caller{AccessKeyID: accessKeyID, PrincipalARN: ak.PrincipalArn, UserName: ak.UserName}, true
}

func authError(err error) *kms.Error {
	var ae *sigv4.AuthError
	if errors.As(err, &ae) {
		return &kms.Error{Type: ae.Type, Message: ae.Message, Status: ae.Status}
	}
	return &kms.Error{Type: "InvalidSignatureException", Message: "The request signature could not be verified.", Status: http.StatusBadRequest}
}

func toProto(r *http.Request, body []byte) *clusterpb.HTTPRequest {
	req := &clusterpb.HTTPRequest{
		Method: r.Method, Path: r.URL.Path, RawQuery: r.URL.RawQuery, Host: r.Host,
		Body: body, RemoteAddr: r.RemoteAddr, ClientTls: secureTransport(r),
	}
	for name, values := range r.Header {
		req.Headers = append(req.Headers, &clusterpb.Header{Name: name, Values: values})
	}
	return req
}

func writeKMSError(w http.ResponseWriter, e *kms.Error) {
	awsjson.WriteError(w, e.Type, e.Message, e.Status)
}
