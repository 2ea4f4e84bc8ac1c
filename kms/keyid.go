package kms

import (
	"net/http"
	"regexp"
	"strings"

	"github.com/keyraft/keyraft/arn"
	"github.com/keyraft/keyraft/fsm"
	"github.com/keyraft/keyraft/internal/awserr"
)

// arn is the key ARN AWS would give this key in our region and account.
func (s *Service) arn(keyID string) string { return arn.Key(s.Region, s.Account, keyID) }

// aliasARN is the ARN of an alias ("alias/NAME") in our region and account.
func (s *Service) aliasARN(alias string) string { return arn.Alias(s.Region, s.Account, alias) }

// keyIDPattern is the shape of a key id AWS accepts (a UUID, or a
// multi-Region "mrk-" id); anything else is "Invalid keyId", not "does not exist".
var keyIDPattern = regexp.MustCompile(`^([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|mrk-[0-9a-fA-F]{32})$`)

// keyRef is a parsed key identifier: exactly one of id and alias is set.
type keyRef struct {
	id    string
	alias string // "alias/…", from an alias name or an alias ARN
}

// parseKeyRef reads any of the four forms AWS has for naming a key, without
// looking at state.
func (s *Service) parseKeyRef(field, ref string) (keyRef, *awserr.Error) {
	if e := checkLen(field, ref, 1, 2048); e != nil {
		return keyRef{}, e
	}
	id := ref
	switch {
	case strings.HasPrefix(ref, arn.Prefix):
		a, ok := arn.Parse(ref)
		if !ok || a.Partition != arn.Partition || a.Service != "kms" {
			return keyRef{}, awserr.New("InvalidArnException", http.StatusBadRequest, "ARN '%s' is not a valid KMS ARN", ref)
		}
		if a.Region != s.Region || a.Account != s.Account {
			return keyRef{}, notFound("Invalid arn %s", a.Region)
		}
		if strings.HasPrefix(a.Resource, "alias/") {
			return keyRef{alias: a.Resource}, nil
		}
		keyID, ok := strings.CutPrefix(a.Resource, "key/")
		if !ok {
			return keyRef{}, awserr.New("InvalidArnException", http.StatusBadRequest, "ARN '%s' is not a valid key ARN", ref)
		}
		id = keyID
	case strings.HasPrefix(ref, "alias/"):
		return keyRef{alias: ref}, nil
	}
	if !keyIDPattern.MatchString(id) {
		return keyRef{}, invalidKeyID(id)
	}
	return keyRef{id: id}, nil
}

func invalidKeyID(ref string) *awserr.Error { return notFound("Invalid keyId '%s'", ref) }

// isAliasRef reports whether ref names an alias rather than a key.
func isAliasRef(ref string) bool {
	return strings.HasPrefix(ref, "alias/") || (strings.HasPrefix(ref, arn.Prefix) && strings.Contains(ref, ":alias/"))
}

// resolveKey finds the key named by a key id, key ARN, alias name or alias
// ARN: the operations whose KeyId AWS documents as accepting aliases
// (cryptographic operations and DescribeKey) use it.
func (s *Service) resolveKey(field, ref string) (*fsm.Key, *awserr.Error) {
	r, e := s.parseKeyRef(field, ref)
	if e != nil {
		return nil, e
	}
	id := r.id
	if r.alias != "" {
		a, ok := s.State.Alias(r.alias)
		if !ok {
			return nil, notFound("Alias %s is not found.", s.aliasARN(r.alias))
		}
		id = a.TargetKeyID
	}
	k, ok := s.State.Key(id)
	if !ok {
		return nil, notFound("Key '%s' does not exist", s.arn(id))
	}
	return k, nil
}

// keyIDOf accepts only a key id or key ARN, as AWS requires for key
// management operations (EnableKey, ScheduleKeyDeletion, TagResource,
// rotation, …). It reads no state: whether the key exists, and in which
// state, is the FSM's verdict when the command applies.
func (s *Service) keyIDOf(field, ref string) (string, *awserr.Error) {
	r, e := s.parseKeyRef(field, ref)
	if e != nil {
		return "", e
	}
	if r.alias != "" {
		return "", invalidKeyID(ref)
	}
	return r.id, nil
}

// readKey reads one key's record from local state for an answer, so it
// confirms leadership before answering, NotFound included.
func (s *Service) readKey(id string) (*fsm.Key, *awserr.Error) {
	k, ok := s.State.Key(id)
	if !ok {
		return nil, notFound("Key '%s' does not exist", s.arn(id))
	}
	return k, nil
}

// usable is the state check of every cryptographic operation.
func (s *Service) usable(k *fsm.Key) *awserr.Error {
	if k.KeyState == fsm.StateEnabled {
		return nil
	}
	return s.stateError(fsm.CmdUnknown, &fsm.KeyStateError{KeyID: k.KeyID, State: k.KeyState})
}
