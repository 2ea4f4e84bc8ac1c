package gateway

import (
	"errors"
	"net"
	"net/http"
	"strings"

	"github.com/keyraft/keyraft/fsm"
	"github.com/keyraft/keyraft/internal/awserr"
	"github.com/keyraft/keyraft/kms"
	"github.com/keyraft/keyraft/transport/sigv4"
)

// refuseUnauthenticated answers a request whose signature failed. It is
// counted, not recorded: anyone can send such requests, as many as they
// like, and an event each would let them fill the replicated log with
// parameters of their choosing under a name of their choosing.
// The operator API summarises the counts (AuthFailures).
func (g *Gateway) refuseUnauthenticated(w http.ResponseWriter, r *http.Request, from Origin, err error) {
	kerr := AuthError(err)
	if !from.Forwarded {
		g.AuthFailures.Count(kerr.Type, SourceIP(r), ClaimedKey(r))
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
	var ae *awserr.Error
	return errors.As(err, &ae) && ae.Type == sigv4.TypeUnrecognizedClient
}

// ClaimedKey is the access key id a request claims to be signed with.
func ClaimedKey(r *http.Request) string {
	if a, err := sigv4.ParseAuthorization(r.Header.Get("Authorization")); err == nil {
		return a.AccessKeyID
	}
	if cred := r.URL.Query().Get("X-Amz-Credential"); cred != "" {
		id, _, _ := strings.Cut(cred, "/")
		return id
	}
	return ""
}

// SourceIP is the client's address without its port.
func SourceIP(r *http.Request) string {
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return host
	}
	return r.RemoteAddr
}

// CallerOf is the principal an access key belongs to.
func CallerOf(q fsm.Query, accessKeyID string) (kms.Caller, bool) {
	ak, ok := q.AccessKey(accessKeyID)
	if !ok {
		return kms.Caller{}, false
	}
	c := kms.Caller{AccessKeyID: accessKeyID, PrincipalARN: ak.PrincipalARN, UserName: ak.UserName}
	if ak.UserName != "" {
		u, ok := q.User(ak.UserName)
		if !ok { // the user is being deleted; its keys go first, so this is a race lost
			return kms.Caller{}, false
		}
		c.UserID = u.UserID
	}
	return c, true
}

// AuthError is the AWS error that answers a failed signature check.
func AuthError(err error) *awserr.Error {
	var ae *awserr.Error
	if errors.As(err, &ae) {
		return ae
	}
	return &awserr.Error{Type: sigv4.TypeInvalidSignature, Message: "The request signature could not be verified.", Status: http.StatusBadRequest}
}
