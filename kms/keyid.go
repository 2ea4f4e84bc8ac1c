package kms

import (
	"net/http"
	"strings"

	"github.com/keyraft/keyraft/fsm"
	"github.com/keyraft/keyraft/fsm/fsmpb"
)

// arn is the key ARN AWS would give this key in our region and account.
func (s *Service) arn(keyID string) string {
	return "arn:aws:kms:" + s.Region + ":" + s.Account + ":key/" + keyID
}

// resolveKey accepts a key id, key ARN, alias name or alias ARN. Aliases do
// not exist yet in this server, so alias forms are always NotFound.
func (s *Service) resolveKey(field, ref string) (*fsmpb.Key, *Error) {
	if e := checkLen(field, ref, 1, 2048); e != nil {
		return nil, e
	}
	id := ref
	switch {
	case strings.HasPrefix(ref, "arn:"):
		parts := strings.SplitN(ref, ":", 6)
		if len(parts) != 6 || parts[1] != "aws" || parts[2] != "kms" {
			return nil, newErr("InvalidArnException", http.StatusBadRequest, "ARN '%s' is not a valid KMS ARN", ref)
		}
		if parts[3] != s.Region || parts[4] != s.Account {
			return nil, notFound("Invalid arn %s", parts[3])
		}
		res := parts[5]
		if strings.HasPrefix(res, "alias/") {
			return nil, notFound("Alias %s is not found.", ref)
		}
		if !strings.HasPrefix(res, "key/") {
			return nil, newErr("InvalidArnException", http.StatusBadRequest, "ARN '%s' is not a valid key ARN", ref)
		}
		id = strings.TrimPrefix(res, "key/")
	case strings.HasPrefix(ref, "alias/"):
		return nil, notFound("Alias %s is not found.", s.aliasARN(ref))
	}
	k, ok := s.FSM.Key(id)
	if !ok {
		return nil, notFound("Key '%s' does not exist", s.arn(id))
	}
	return k, nil
}

func (s *Service) aliasARN(alias string) string {
	return "arn:aws:kms:" + s.Region + ":" + s.Account + ":" + alias
}

// usable is the state check of every cryptographic operation.
func (s *Service) usable(k *fsmpb.Key) *Error {
	switch k.KeyState {
	case fsm.StateEnabled:
		return nil
	case fsm.StateDisabled:
		return newErr("DisabledException", http.StatusConflict, "%s is disabled.", s.arn(k.KeyId))
	case fsm.StatePendingDeletion:
		return newErr("KMSInvalidStateException", http.StatusConflict, "%s is pending deletion.", s.arn(k.KeyId))
	default:
		return newErr("KMSInvalidStateException", http.StatusConflict, "%s is %s.", s.arn(k.KeyId), k.KeyState)
	}
}
