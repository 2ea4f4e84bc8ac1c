package gateway

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/url"

	"github.com/keyraft/keyraft/cluster"
	"github.com/keyraft/keyraft/transport/clusterpb"
)

// Origin is how a request reached this node: on its own API listener (the
// zero Origin), or forwarded by a follower that received it. It travels as
// a parameter from the listener, or from the cluster's Forward call, to
// every step that depends on it.
type Origin struct {
	// Forwarded marks a request a follower forwarded: it must be served
	// here or refused, never forwarded again.
	Forwarded bool
	// ClientTLS is what the forwarding node saw of its client's
	// connection (clusterpb.HTTPRequest.client_tls).
	ClientTLS bool
}

// SecureTransport is aws:SecureTransport: whether the client reached
// keyraft over TLS. A request that arrived on this node's API listener
// says so by its connection; a forwarded one by what the forwarding node
// put in the forward, which only a cluster peer can send. Nothing the
// client sends (X-Forwarded-Proto and the like) is consulted.
func (o Origin) SecureTransport(r *http.Request) bool {
	if o.Forwarded {
		return o.ClientTLS
	}
	return r.TLS != nil
}

// ErrLeadershipMoved: a forwarded request reached a node that no longer
// leads; it is refused rather than forwarded again.
var ErrLeadershipMoved = errors.New("leadership moved while forwarding")

// errNoLeaderMsg is the retryable answer while no leader can be reached.
const errNoLeaderMsg = "No keyraft leader is available right now; retry."

// Forward sends a request whose body has been read to the leader and
// copies its answer. It returns served=false when this node turned out to
// be the leader and must serve the request itself, and an error, for the
// caller to answer in its own format, when no leader could answer. The
// operator API forwards its leader-only calls the same way.
func Forward(n *cluster.Node, w http.ResponseWriter, r *http.Request, from Origin, body []byte) (served bool, err error) {
	if from.Forwarded {
		return false, ErrLeadershipMoved
	}
	resp, err := n.Forward(r.Context(), ForwardRequest(r, from, body))
	if errors.Is(err, cluster.ErrNotLeader) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	WriteForwarded(w, resp)
	return true, nil
}

// ForwardRequest is r, with its body, as the cluster carries it to the leader.
func ForwardRequest(r *http.Request, from Origin, body []byte) *clusterpb.HTTPRequest {
	req := &clusterpb.HTTPRequest{
		Method: r.Method, Path: r.URL.Path, RawQuery: r.URL.RawQuery, Host: r.Host,
		Body: body, RemoteAddr: r.RemoteAddr, ClientTls: from.SecureTransport(r),
	}
	for name, values := range r.Header {
		req.Headers = append(req.Headers, &clusterpb.Header{Name: name, Values: values})
	}
	return req
}

// WriteForwarded copies the leader's answer to the client unchanged.
func WriteForwarded(w http.ResponseWriter, resp *clusterpb.HTTPResponse) {
	for _, h := range resp.Headers {
		for _, v := range h.Values {
			w.Header().Add(h.Name, v)
		}
	}
	w.WriteHeader(int(resp.Status))
	_, _ = w.Write(resp.Body)
	clear(resp.Body) // it may carry a plaintext or init's shares; nothing reads it again
}

// ServeForwarded runs a follower's request here, through serve, as if it
// had arrived on this node's API listener, and returns the answer byte for
// byte: the leader's side of Forward.
func ServeForwarded(ctx context.Context, in *clusterpb.HTTPRequest, serve func(http.ResponseWriter, *http.Request, Origin)) (*clusterpb.HTTPResponse, error) {
	u := &url.URL{Path: in.Path, RawQuery: in.RawQuery}
	r, err := http.NewRequestWithContext(ctx, in.Method, u.String(), bytes.NewReader(in.Body))
	if err != nil {
		return nil, err
	}
	r.Host, r.RemoteAddr, r.RequestURI = in.Host, in.RemoteAddr, u.RequestURI()
	for _, h := range in.Headers {
		for _, v := range h.Values {
			r.Header.Add(h.Name, v)
		}
	}
	rec := &recorder{header: http.Header{}, status: http.StatusOK}
	serve(rec, r, Origin{Forwarded: true, ClientTLS: in.ClientTls})
	out := &clusterpb.HTTPResponse{Status: int32(rec.status), Body: rec.body.Bytes()}
	for name, values := range rec.header {
		out.Headers = append(out.Headers, &clusterpb.Header{Name: name, Values: values})
	}
	return out, nil
}

// recorder is the http.ResponseWriter a forwarded request is served into.
type recorder struct {
	header      http.Header
	status      int
	wroteHeader bool
	body        bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }
func (r *recorder) WriteHeader(code int) {
	if !r.wroteHeader {
		r.status, r.wroteHeader = code, true
	}
}
func (r *recorder) Write(b []byte) (int, error) {
	r.WriteHeader(http.StatusOK)
	return r.body.Write(b)
}

// NoLeaderMsg is the answer of a node that finds no leader: a node whose
// own disk is full (it may be why, as a full disk stops a lone node from
// saving its term) says so.
func NoLeaderMsg(n *cluster.Node) string {
	if err := n.LocalNoSpace(); err != nil {
		return "No keyraft leader is available right now: " + err.Error() + "."
	}
	return errNoLeaderMsg
}

// noSpaceMsg is the client's answer when err is a write refused for lack of
// disk space, or "".
func noSpaceMsg(err error) string {
	var ns *cluster.NoSpaceError
	if errors.As(err, &ns) {
		return "The request could not be recorded: " + ns.Error() + "."
	}
	return ""
}
