package node

import (
	"context"

	"github.com/keyraft/keyraft/gateway"
	"github.com/keyraft/keyraft/transport/clusterpb"
)

// rpcService serves the cluster listener: each call goes to the part of
// the node that owns it.
type rpcService struct {
	clusterpb.UnimplementedClusterServer
	s *Server
}

// Forward runs a follower's request here, as if it had arrived on our API
// listener, and returns the answer byte for byte.
func (rs *rpcService) Forward(ctx context.Context, in *clusterpb.HTTPRequest) (*clusterpb.HTTPResponse, error) {
	return gateway.ServeForwarded(ctx, in, rs.s.serve)
}

// Unseal applies one share to this node only.
func (rs *rpcService) Unseal(_ context.Context, in *clusterpb.UnsealRequest) (*clusterpb.UnsealResponse, error) {
	return rs.s.operator.UnsealFromPeer(in), nil
}

// Audit commits a follower's operator event, if this node leads.
func (rs *rpcService) Audit(ctx context.Context, in *clusterpb.AuditRequest) (*clusterpb.AuditResponse, error) {
	return rs.s.operator.CommitPeerEvent(ctx, in), nil
}

// AutopilotStats reports this node's raft progress to the leader's autopilot.
func (rs *rpcService) AutopilotStats(context.Context, *clusterpb.AutopilotStatsRequest) (*clusterpb.AutopilotStatsResponse, error) {
	return rs.s.node.LocalAutopilotStats(), nil
}
