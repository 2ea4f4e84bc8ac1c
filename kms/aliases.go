package kms

import (
	"context"
	"net/http"
	"regexp"
	"strings"

	"github.com/keyraft/keyraft/fsm"
	"github.com/keyraft/keyraft/fsm/fsmpb"
	"github.com/keyraft/keyraft/internal/awserr"
)

var (
	// aliasWirePattern is AliasNameType's pattern in the API model; it lets
	// ':' through, which no alias may contain.
	aliasWirePattern = regexp.MustCompile(`^[a-zA-Z0-9:/_-]+$`)
	aliasNamePattern = regexp.MustCompile(`^alias/[a-zA-Z0-9/_-]+$`)
)

const reservedAliasPrefix = "alias/aws/"

// checkAliasRef validates an AliasName that names an existing alias
// (UpdateAlias, DeleteAlias): the wire constraints and the alias/ prefix.
func checkAliasRef(name string) *awserr.Error {
	if e := checkLen("aliasName", name, 1, 256); e != nil {
		return e
	}
	if !aliasWirePattern.MatchString(name) {
		return validation("aliasName", "Member must satisfy regular expression pattern: ^[a-zA-Z0-9:/_-]+$")
	}
	if !strings.HasPrefix(name, "alias/") {
		return awserr.New("ValidationException", http.StatusBadRequest,
			`Alias must start with the prefix "alias/". Please see https://docs.aws.amazon.com/kms/latest/developerguide/kms-alias.html`)
	}
	return nil
}

// checkNewAliasName adds what CreateAlias requires of a new name.
func checkNewAliasName(name string) *awserr.Error {
	if e := checkAliasRef(name); e != nil {
		return e
	}
	if !aliasNamePattern.MatchString(name) {
		return awserr.New("ValidationException", http.StatusBadRequest, "%s contains invalid characters for an alias", name)
	}
	if strings.HasPrefix(name, reservedAliasPrefix) {
		return awserr.New("InvalidAliasNameException", http.StatusBadRequest,
			"%s: alias names beginning with %s are reserved for AWS managed keys", name, reservedAliasPrefix)
	}
	return nil
}

// aliasTarget reads TargetKeyId, which must name a key directly.
func (s *Service) aliasTarget(ref string) (string, *awserr.Error) {
	if isAliasRef(ref) {
		return "", awserr.New("ValidationException", http.StatusBadRequest, "Aliases must refer to keys. Not aliases")
	}
	return s.keyIDOf("targetKeyId", ref)
}

type aliasRequest struct {
	AliasName   string
	TargetKeyId string
}

func (s *Service) CreateAlias(ctx context.Context, call Call, req *aliasRequest) (any, *awserr.Error) {
	if e := checkNewAliasName(req.AliasName); e != nil {
		return nil, e
	}
	id, e := s.aliasTarget(req.TargetKeyId)
	if e != nil {
		return nil, e
	}
	if e := s.authorizeKeyID(call, id); e != nil {
		return nil, e
	}
	return nil, s.commit(ctx, call, fsm.CmdCreateAlias, &fsmpb.AliasChange{AliasName: req.AliasName, TargetKeyId: id}, s.now())
}

// updateAlias points an alias at another key. The FSM refuses a new target
// that is pending deletion but not an old one, as AWS does.
func (s *Service) UpdateAlias(ctx context.Context, call Call, req *aliasRequest) (any, *awserr.Error) {
	if e := checkAliasRef(req.AliasName); e != nil {
		return nil, e
	}
	id, e := s.aliasTarget(req.TargetKeyId)
	if e != nil {
		return nil, e
	}
	// AWS checks kms:UpdateAlias on both the alias's current key and the new one.
	if a, ok := s.State.Alias(req.AliasName); ok {
		if e := s.authorizeKeyID(call, a.TargetKeyID); e != nil {
			return nil, e
		}
	}
	if e := s.authorizeKeyID(call, id); e != nil {
		return nil, e
	}
	return nil, s.commit(ctx, call, fsm.CmdUpdateAlias, &fsmpb.AliasChange{AliasName: req.AliasName, TargetKeyId: id}, s.now())
}

func (s *Service) DeleteAlias(ctx context.Context, call Call, req *aliasRequest) (any, *awserr.Error) {
	if e := checkAliasRef(req.AliasName); e != nil {
		return nil, e
	}
	if a, ok := s.State.Alias(req.AliasName); ok {
		if e := s.authorizeKeyID(call, a.TargetKeyID); e != nil {
			return nil, e
		}
	}
	return nil, s.commit(ctx, call, fsm.CmdDeleteAlias, &fsmpb.AliasChange{AliasName: req.AliasName}, s.now())
}

type listAliasesRequest struct {
	KeyId  *string
	Limit  *int32
	Marker *string
}

type aliasListEntry struct {
	AliasName       string
	AliasArn        string
	TargetKeyId     string
	CreationDate    float64
	LastUpdatedDate float64
}

// listAliases lists aliases by name. AWS also lists its alias/aws/*
// aliases of AWS managed keys; this server has none.
func (s *Service) ListAliases(ctx context.Context, call Call, req *listAliasesRequest) (any, *awserr.Error) {
	limit, e := pageLimit(req.Limit, 50, 100)
	if e != nil {
		return nil, e
	}
	if e := checkMarker(req.Marker); e != nil {
		return nil, e
	}
	if e := s.authorizeAccount(call); e != nil {
		return nil, e
	}
	var keyID string
	if req.KeyId != nil {
		if keyID, e = s.keyIDOf("keyId", *req.KeyId); e != nil {
			return nil, e
		}
	}
	all := s.State.Aliases()
	keyExists := true
	if keyID != "" {
		keyExists = s.State.KeyExists(keyID)
	}
	if !keyExists {
		return nil, notFound("Key '%s' does not exist", s.arn(keyID))
	}
	var names []string
	var aliases []fsm.Alias
	for _, a := range all {
		if keyID == "" || a.TargetKeyID == keyID {
			names, aliases = append(names, a.AliasName), append(aliases, a)
		}
	}
	start, end := page(names, req.Marker, limit)
	entries := make([]aliasListEntry, 0, end-start)
	for _, a := range aliases[start:end] {
		entries = append(entries, aliasListEntry{
			AliasName: a.AliasName, AliasArn: s.aliasARN(a.AliasName), TargetKeyId: a.TargetKeyID,
			CreationDate: epochOf(a.CreationDate), LastUpdatedDate: epochOf(a.LastUpdatedDate),
		})
	}
	out := map[string]any{"Aliases": entries, "Truncated": end < len(names)}
	if end < len(names) {
		out["NextMarker"] = names[end-1]
	}
	return out, nil
}
