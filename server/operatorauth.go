package server

import (
	"net/http"

	"github.com/keyraft/keyraft/iam"
)

// OperatorSigningService is the SigV4 service name of the operator API's
// signed requests (their credential scope ends in /keyraft/aws4_request):
// a signature made for KMS or IAM is not valid here, nor one made here
// for them.
const OperatorSigningService = "keyraft"

// ActionReadAuditLog is the IAM action that lets a principal other than
// the account's root read the audit log over the operator API
// (GET /v1/sys/audit/events and /v1/sys/audit/verify). The log names
// every principal, key and encryption context the cluster saw, so reading
// it is as guarded as CloudTrail's LookupEvents is in AWS.
const ActionReadAuditLog = "keyraft:ReadAuditLog"

// authorizeOperator checks that an operator API request is signed with
// SigV4 (service OperatorSigningService) by a known access key whose
// principal may perform action, and answers the request itself when not.
// A sealed node cannot check: the access keys' secrets are sealed.
func (s *Server) authorizeOperator(w http.ResponseWriter, r *http.Request, action string) bool {
	if _, err := s.barrier.Keyring(); err != nil {
		writeErr(w, http.StatusServiceUnavailable, "this node is sealed and cannot check the request's signature; ask an unsealed node")
		return false
	}
	if r.Header.Get("Authorization") == "" && r.URL.Query().Get("X-Amz-Signature") == "" {
		writeErr(w, http.StatusForbidden, "this endpoint needs a request signed with AWS Signature Version 4 "+
			"(service "+OperatorSigningService+") by an access key allowed "+action+"; the keyraft CLI signs with the AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in its environment")
		return false
	}
	akid, err := s.operatorVerifier.Verify(r, nil)
	if err != nil {
		writeErr(w, http.StatusForbidden, authError(err).Message)
		return false
	}
	caller, ok := s.caller(akid)
	if !ok {
		writeErr(w, http.StatusForbidden, "The security token included in the request is invalid.")
		return false
	}
	if e := s.iam.Authorize(iam.Caller{PrincipalARN: caller.PrincipalARN, UserName: caller.UserName}, action); e != nil {
		writeErr(w, http.StatusForbidden, e.Message)
		return false
	}
	return true
}
