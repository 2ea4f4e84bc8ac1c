package server

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/keyraft/keyraft/audit"
	"github.com/keyraft/keyraft/cluster"
	"github.com/keyraft/keyraft/iam"
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

func (s *Server) serveKMS(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		awsjson.WriteError(w, "UnknownOperationException", "KMS requests are POST /", http.StatusBadRequest)
		return
	}
	body, err := awsjson.ReadBody(r)
	if err != nil {
		awsjson.WriteError(w, "SerializationException", "The request body could not be read or is too large.", http.StatusRequestEntityTooLarge)
		return
	}
	// A sealed node is out of service even as a follower, as a sealed Vault
	// standby is: operators unseal each node before it takes traffic.
	if _, err := s.barrier.Keyring(); err != nil {
		writeKMSError(w, kms.Sealed())
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
			writeKMSError(w, kms.Unavailable(errNoLeaderMsg))
			return
		case served:
			return
		}
	}
	s.serveKMSLocal(w, r, body)
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

// serveKMSLocal answers a KMS request on the leader. Whatever the outcome,
// the request's audit event is committed through Raft before the answer
// leaves: if it cannot be, the client gets a retryable error instead. That
// commit is also what proves this node still leads (fail closed). A write
// carries its event in the command that makes the change, so no change can
// commit without its event.
func (s *Server) serveKMSLocal(w http.ResponseWriter, r *http.Request, body []byte) {
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	err := s.node.WaitReady(ctx)
	cancel()
	if err != nil {
		writeKMSError(w, kms.Unavailable(errNoLeaderMsg))
		return
	}
	op := awsjson.Operation(r)
	iamOp, isIAM := strings.CutPrefix(r.Header.Get("X-Amz-Target"), iam.TargetPrefix)
	verifier := s.verifier
	if isIAM {
		op, verifier = iamOp, s.iamVerifier
	}
	var (
		res  any
		kerr *kms.Error
	)
	// One request, one event, whichever way it is committed: a write carries
	// it in its own command (the Recorder), anything else commits it below.
	requestID, eventID := uuid.NewString(), uuid.NewString()
	eventFor := func(akid string, res any, kerr *kms.Error) *audit.Event {
		ev := s.kmsEvent(r, eventName(op), requestID, eventID, akid, body, res, kerr)
		if isIAM {
			ev.EventSource, ev.ReadOnly = "iam.amazonaws.com", iam.ReadOnly(op)
		}
		return ev
	}
	rec := &audit.Recorder{}
	ctx = audit.WithRecorder(r.Context(), rec)
	akid, err := verifier.Verify(r, body)
	if err != nil {
		kerr = authError(err)
		if a, perr := sigv4.ParseAuthorization(r.Header.Get("Authorization")); perr == nil {
			akid = a.AccessKeyID // who claimed to call, for the record
		}
	} else if caller, ok := s.caller(akid); !ok {
		kerr = &kms.Error{Type: "UnrecognizedClientException", Message: "The security token included in the request is invalid.", Status: http.StatusBadRequest}
	} else {
		caller.SecureTransport = secureTransport(r)
		rec.Event = func(answer any) []byte {
			b, err := json.Marshal(eventFor(caller.AccessKeyID, answer, nil))
			if err != nil {
				return nil // the command then goes without it, and Outcome says so
			}
			return b
		}
		if isIAM {
			var ierr *iam.Error
			res, ierr = s.iam.Handle(ctx, iam.Caller{PrincipalARN: caller.PrincipalARN, UserName: caller.UserName, SecureTransport: caller.SecureTransport}, op, body)
			if ierr != nil {
				kerr = &kms.Error{Type: ierr.Type, Message: ierr.Message, Status: ierr.Status}
			}
		} else {
			res, kerr = s.kms.Handle(ctx, caller, op, body)
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
		s.log.Warn("request not answered: its change may or may not commit (leadership may have changed)", "op", op)
		if kerr == nil {
			kerr = kms.Unavailable("The request's outcome is unknown (leadership may have changed); retry.")
		}
		writeKMSError(w, kerr)
		return
	default:
		// A client that stops waiting does not take its request's event
		// with it: the request was served, so it is recorded.
		if err := s.commitEvent(context.WithoutCancel(r.Context()), r.RemoteAddr, eventFor(akid, res, kerr)); err != nil {
			s.log.Warn("request not answered: its audit event was not committed", "op", op, "error", err)
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
		return op[:64]
	}
	return op
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
