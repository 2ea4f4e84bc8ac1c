package server

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"

	"github.com/keyraft/keyraft/cluster"
	"github.com/keyraft/keyraft/transport/clusterpb"
)

// rpcService serves the cluster listener.
type rpcService struct {
	clusterpb.UnimplementedClusterServer
	s *Server
}

// Forward runs a follower's request here, as if it had arrived on our API
// listener, and returns the answer byte for byte.
func (rs *rpcService) Forward(ctx context.Context, in *clusterpb.HTTPRequest) (*clusterpb.HTTPResponse, error) {
	u := &url.URL{Path: in.Path, RawQuery: in.RawQuery}
	ctx = withClientTLS(context.WithValue(ctx, forwardedKey, true), in.ClientTls)
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
	rs.s.ServeHTTP(rec, r)
	out := &clusterpb.HTTPResponse{Status: int32(rec.status), Body: rec.body.Bytes()}
	for name, values := range rec.header {
		out.Headers = append(out.Headers, &clusterpb.Header{Name: name, Values: values})
	}
	return out, nil
}

// Unseal applies one share to this node only.
func (rs *rpcService) Unseal(ctx context.Context, in *clusterpb.UnsealRequest) (*clusterpb.UnsealResponse, error) {
	st, err := rs.s.Unseal(in.Share, in.Reset_)
	clear(in.Share) // the barrier keeps a copy of its own
	rs.s.auditAsync(nil, "", "OperatorUnseal", map[string]any{"reset": in.Reset_, "progress": st.Progress, "sealed": st.Sealed, "viaPeer": true}, err)
	out := &clusterpb.UnsealResponse{
		Sealed: st.Sealed, Progress: uint32(st.Progress), Threshold: uint32(st.Threshold), NodeId: rs.s.cfg.NodeID,
	}
	if err != nil {
		out.Error = err.Error()
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

// Audit commits a follower's operator event, if this node leads.
func (rs *rpcService) Audit(ctx context.Context, in *clusterpb.AuditRequest) (*clusterpb.AuditResponse, error) {
	if !rs.s.node.IsLeader() {
		return &clusterpb.AuditResponse{Error: cluster.ErrNotLeader.Error()}, nil
	}
	if !json.Valid(in.Event) {
		return &clusterpb.AuditResponse{Error: "audit event is not JSON"}, nil
	}
	ctx, cancel := context.WithTimeout(ctx, auditCommitTimeout)
	defer cancel()
	if err := rs.s.batcher.Commit(ctx, "", in.Event); err != nil {
		return &clusterpb.AuditResponse{Error: err.Error()}, nil
	}
	return &clusterpb.AuditResponse{}, nil
}
