package operator

import (
	"net/http"

	"github.com/keyraft/keyraft/arn"
	"github.com/keyraft/keyraft/gateway"
	"github.com/keyraft/keyraft/iam"
)

// SigningService is the SigV4 service name of the operator API's
// signed requests (their credential scope ends in /keyraft/aws4_request):
// a signature made for KMS or IAM is not valid here, nor one made here
// for them.
const SigningService = "keyraft"

// The IAM actions of the operator API calls that need a principal. The
// account's root may do all of them; anyone else needs an identity policy
// that allows the action on the call's resource (nodeARN, clusterARN).
// Init and unseal need none: before init there is no principal, and a
// share is its own proof.
const (
	// ActionReadAuditLog lets a principal read the audit log
	// (GET /v1/sys/audit/events and /v1/sys/audit/verify), the cluster's
	// (resource clusterARN) whichever node serves it. The log names
	// every principal, key and encryption context the cluster saw, so
	// reading it is as guarded as CloudTrail's LookupEvents is in AWS.
	ActionReadAuditLog = "keyraft:ReadAuditLog"
	// ActionSeal lets a principal seal a node (POST /v1/sys/seal; resource
	// the nodeARN of the node that would seal): enough
	// sealed nodes stop the cluster serving, as Vault's sys/seal needs a
	// privileged token.
	ActionSeal = "keyraft:Seal"
	// ActionRemovePeer lets a principal remove a server from the Raft
	// configuration (POST /v1/sys/raft/remove-peer; resource the nodeARN of
	// the server removed), which can cost the cluster its quorum.
	ActionRemovePeer = "keyraft:RemovePeer"
	// ActionListPeers lets a principal list the Raft configuration and
	// each server's liveness and seal state (GET /v1/sys/raft/peers): a
	// map of the cluster for whoever would attack it.
	ActionListPeers = "keyraft:ListPeers"
	// ActionReadStatus lets a principal read a node's whole status (GET
	// /v1/sys/status): Raft state, term and index, leader, alarms. Anyone
	// may read the public part (GET /v1/sys/seal-status).
	ActionReadStatus = "keyraft:ReadStatus"
	// ActionSnapshot lets a principal save a backup of the cluster (GET
	// /v1/sys/raft/snapshot: every sealed key, the users, the audit log)
	// and restore one (POST), which replaces the whole state; resource
	// the clusterARN.
	ActionSnapshot = "keyraft:Snapshot"
	// ActionRekey lets a principal start, cancel, and submit shares to a
	// rekey (/v1/sys/rekey/*; resource the clusterARN). The shares are
	// their own proof as well: a rekey needs both a principal allowed this
	// and a threshold of share holders.
	ActionRekey = "keyraft:Rekey"
	// ActionRotateKeyring lets a principal add a keyring term (POST
	// /v1/sys/rotate; resource the clusterARN).
	ActionRotateKeyring = "keyraft:RotateKeyring"
)

// operatorRefusal says why an operator API request was not authorised,
// with the HTTP status to answer. As an error it is what the request's
// audit event records.
type operatorRefusal struct {
	status int
	msg    string
}

func (e *operatorRefusal) Error() string { return e.msg }

// nodeARN is the resource of an operator action on one server of the
// cluster: arn:aws:keyraft:REGION:ACCOUNT:node/NODE_ID.
func (a *API) nodeARN(nodeID string) string {
	return arn.Node(a.Region, a.Account, nodeID)
}

// clusterARN is the resource of an operator action on the cluster as a
// whole, which no one server stands for: arn:aws:keyraft:REGION:ACCOUNT:cluster.
func (a *API) clusterARN() string {
	return arn.Cluster(a.Region, a.Account)
}

// checkOperator checks that an operator API request is signed with SigV4
// (service SigningService) over body by a known access key whose
// principal may perform action on resource (an ARN). It returns the access key once the
// signature holds, even when the action is refused, so that the refusal
// can name who asked. A sealed node cannot check: the access keys' secrets
// are sealed.
func (a *API) checkOperator(r *http.Request, from gateway.Origin, body []byte, action, resource string) (accessKeyID string, refused *operatorRefusal) {
	if _, err := a.Barrier.Keyring(); err != nil {
		return "", &operatorRefusal{http.StatusServiceUnavailable, "this node is sealed and cannot check the request's signature; ask an unsealed node"}
	}
	if r.Header.Get("Authorization") == "" && r.URL.Query().Get("X-Amz-Signature") == "" {
		return "", &operatorRefusal{http.StatusForbidden, "this endpoint needs a request signed with AWS Signature Version 4 " +
			"(service " + SigningService + ") by an access key allowed " + action + "; the keyraft CLI signs with the AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in its environment"}
	}
	akid, err := a.Verifier.Verify(r, body)
	if err != nil {
		return "", &operatorRefusal{http.StatusForbidden, gateway.AuthError(err).Message}
	}
	caller, ok := gateway.CallerOf(a.State, akid)
	if !ok {
		return "", &operatorRefusal{http.StatusForbidden, "The security token included in the request is invalid."}
	}
	if e := a.IAM.Authorize(iam.Caller{PrincipalARN: caller.PrincipalARN, UserName: caller.UserName, SecureTransport: from.SecureTransport(r)}, action, resource); e != nil {
		return akid, &operatorRefusal{http.StatusForbidden, e.Message}
	}
	return akid, nil
}

// unauthenticated reports (and counts, as the API's failed signatures
// are) an operator call refused before anyone was authenticated: it gets
// no event of its own.
func (a *API) unauthenticated(r *http.Request, akid string, refused *operatorRefusal) bool {
	if refused == nil || akid != "" || refused.status != http.StatusForbidden {
		return false
	}
	a.AuthFailures.Count("OperatorSignature", gateway.SourceIP(r), gateway.ClaimedKey(r))
	return true
}

// authorizeOperator is checkOperator for calls whose refusals are not
// audited (reads of the audit log): it answers a refused request itself.
func (a *API) authorizeOperator(w http.ResponseWriter, r *http.Request, from gateway.Origin, action, resource string) bool {
	if _, refused := a.checkOperator(r, from, nil, action, resource); refused != nil {
		writeErr(w, refused.status, refused.msg)
		return false
	}
	return true
}
