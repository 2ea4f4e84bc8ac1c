package iam

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"strings"

	"github.com/keyraft/keyraft/fsm"
	"github.com/keyraft/keyraft/fsm/fsmpb"
	"github.com/keyraft/keyraft/internal/awserr"
	"github.com/keyraft/keyraft/internal/sensitive"
	"github.com/keyraft/keyraft/policy"
)

type userRequest struct {
	UserName string
}

func (s *Service) userMap(u *fsm.User) map[string]any {
	return map[string]any{"UserName": u.Name, "Arn": u.ARN, "UserId": u.UserID, "Path": "/", "CreateDate": epochOf(u.CreateDate)}
}

func (s *Service) CreateUser(ctx context.Context, call *Call, req *userRequest) (any, *awserr.Error) {
	if req.UserName == "" {
		return nil, awserr.New("ValidationError", http.StatusBadRequest, "UserName is required")
	}
	if e := s.authorizeUser(call, &req.UserName); e != nil {
		return nil, e
	}
	var id [10]byte
	if _, err := rand.Read(id[:]); err != nil {
		return nil, awserr.New("ServiceFailure", http.StatusInternalServerError, "could not generate a user id")
	}
	u := fsm.User{
		Name: req.UserName, ARN: s.UserARN(req.UserName),
		UserID: "AIDA" + strings.ToUpper(hex.EncodeToString(id[:]))[:17], CreateDate: s.now(),
	}
	answer := map[string]any{"User": s.userMap(&u)}
	if e := s.commit(ctx, call, fsm.CmdCreateUser, fsm.CreateUserCommand(u), answer); e != nil {
		return nil, e
	}
	return answer, nil
}

func (s *Service) ListUsers(ctx context.Context, call *Call, _ *struct{}) (any, *awserr.Error) {
	if e := s.authorizeAny(call); e != nil {
		return nil, e
	}
	users := s.State.Users()
	out := make([]map[string]any, 0, len(users))
	for _, u := range users {
		out = append(out, s.userMap(&u))
	}
	return map[string]any{"Users": out, "IsTruncated": false}, nil
}

func (s *Service) CreateAccessKey(ctx context.Context, call *Call, req *userRequest) (any, *awserr.Error) {
	if e := s.authorizeUser(call, &req.UserName); e != nil {
		return nil, e
	}
	u, ok := s.State.User(req.UserName)
	if !ok {
		return nil, awserr.New("NoSuchEntity", http.StatusNotFound, "The user with name %s cannot be found.", req.UserName)
	}
	kr, err := s.Keyring()
	if err != nil {
		return nil, awserr.New("ServiceUnavailable", http.StatusServiceUnavailable, "This keyraft node is sealed; retry once it is unsealed.")
	}
	id, secret, err := NewAccessKey()
	if err != nil {
		return nil, awserr.New("ServiceFailure", http.StatusInternalServerError, "could not generate an access key")
	}
	sealed, err := kr.Seal(SecretPath(id), secret, rand.Reader)
	if err != nil {
		clear(secret)
		return nil, awserr.New("ServiceFailure", http.StatusInternalServerError, "could not seal the secret")
	}
	now := s.now().UnixNano()
	ak := &fsmpb.AccessKey{AccessKeyId: id, SealedSecret: sealed, PrincipalArn: u.ARN, CreateDate: now, UserName: u.Name}
	// The only time the secret leaves the cluster; the audit event drops
	// it, and the answer's writer zeroes it once written.
	answer := map[string]any{"AccessKey": map[string]any{
		"UserName": u.Name, "AccessKeyId": id, "SecretAccessKey": sensitive.String(secret), "Status": "Active", "CreateDate": epochSeconds(now),
	}}
	if e := s.commit(ctx, call, fsm.CmdCreateAccessKey, ak, answer); e != nil {
		clear(secret)
		return nil, e
	}
	return answer, nil
}

type deleteAccessKeyRequest struct {
	UserName    string
	AccessKeyId string
}

func (s *Service) DeleteAccessKey(ctx context.Context, call *Call, req *deleteAccessKeyRequest) (any, *awserr.Error) {
	if req.AccessKeyId == "" {
		return nil, awserr.New("ValidationError", http.StatusBadRequest, "AccessKeyId is required")
	}
	// Without UserName the key must be the caller's own: the FSM refuses
	// a key of another user.
	if e := s.authorizeUser(call, &req.UserName); e != nil {
		return nil, e
	}
	return map[string]any{}, s.commit(ctx, call, fsm.CmdDeleteAccessKey, &fsmpb.DeleteAccessKey{AccessKeyId: req.AccessKeyId, UserName: req.UserName}, map[string]any{})
}

func (s *Service) ListAccessKeys(ctx context.Context, call *Call, req *userRequest) (any, *awserr.Error) {
	if e := s.authorizeUser(call, &req.UserName); e != nil {
		return nil, e
	}
	if _, ok := s.State.User(req.UserName); !ok {
		return nil, awserr.New("NoSuchEntity", http.StatusNotFound, "The user with name %s cannot be found.", req.UserName)
	}
	keys := s.State.UserAccessKeys(req.UserName)
	out := make([]map[string]any, 0, len(keys))
	for _, k := range keys {
		out = append(out, map[string]any{"UserName": k.UserName, "AccessKeyId": k.AccessKeyID, "Status": "Active", "CreateDate": epochOf(k.CreateDate)})
	}
	return map[string]any{"AccessKeyMetadata": out, "IsTruncated": false}, nil
}

type userPolicyRequest struct {
	UserName       string
	PolicyName     string
	PolicyDocument string
}

func (s *Service) PutUserPolicy(ctx context.Context, call *Call, req *userPolicyRequest) (any, *awserr.Error) {
	if req.UserName == "" {
		return nil, awserr.New("ValidationError", http.StatusBadRequest, "UserName is required")
	}
	if e := s.authorizeUser(call, &req.UserName); e != nil {
		return nil, e
	}
	if !userNamePattern.MatchString(req.PolicyName) || len(req.PolicyName) > 128 {
		return nil, awserr.New("ValidationError", http.StatusBadRequest, "PolicyName must be 1–128 characters of [\\w+=,.@-]")
	}
	if _, err := policy.ParseIdentity([]byte(req.PolicyDocument)); err != nil {
		return nil, awserr.New("MalformedPolicyDocument", http.StatusBadRequest, "%s", err.Error())
	}
	p := &fsmpb.UserPolicy{Name: req.PolicyName, Document: req.PolicyDocument}
	return map[string]any{}, s.commit(ctx, call, fsm.CmdPutUserPolicy, &fsmpb.PutUserPolicy{UserName: req.UserName, Policy: p}, map[string]any{})
}

func (s *Service) GetUserPolicy(ctx context.Context, call *Call, req *userPolicyRequest) (any, *awserr.Error) {
	if req.UserName == "" {
		return nil, awserr.New("ValidationError", http.StatusBadRequest, "UserName is required")
	}
	if e := s.authorizeUser(call, &req.UserName); e != nil {
		return nil, e
	}
	u, ok := s.State.User(req.UserName)
	if !ok {
		return nil, awserr.New("NoSuchEntity", http.StatusNotFound, "The user with name %s cannot be found.", req.UserName)
	}
	for _, p := range u.Policies {
		if p.Name == req.PolicyName {
			return map[string]any{"UserName": u.Name, "PolicyName": p.Name, "PolicyDocument": p.Document}, nil
		}
	}
	return nil, awserr.New("NoSuchEntity", http.StatusNotFound, "The user policy with name %s cannot be found.", req.PolicyName)
}

// DeleteUser deletes a user that has no access keys and no policies left;
// the FSM checks that as it applies, so a key created meanwhile cannot be
// left without its user (DeleteConflict, as IAM answers).
func (s *Service) DeleteUser(ctx context.Context, call *Call, req *userRequest) (any, *awserr.Error) {
	if req.UserName == "" {
		return nil, awserr.New("ValidationError", http.StatusBadRequest, "UserName is required")
	}
	if e := s.authorizeUser(call, &req.UserName); e != nil {
		return nil, e
	}
	return map[string]any{}, s.commit(ctx, call, fsm.CmdDeleteUser, &fsmpb.DeleteUser{UserName: req.UserName}, map[string]any{})
}

// ListUserPolicies lists the names of a user's inline policies, sorted.
func (s *Service) ListUserPolicies(ctx context.Context, call *Call, req *userRequest) (any, *awserr.Error) {
	if req.UserName == "" {
		return nil, awserr.New("ValidationError", http.StatusBadRequest, "UserName is required")
	}
	if e := s.authorizeUser(call, &req.UserName); e != nil {
		return nil, e
	}
	u, ok := s.State.User(req.UserName)
	if !ok {
		return nil, awserr.New("NoSuchEntity", http.StatusNotFound, "The user with name %s cannot be found.", req.UserName)
	}
	names := make([]string, 0, len(u.Policies))
	for _, p := range u.Policies {
		names = append(names, p.Name)
	}
	return map[string]any{"PolicyNames": names, "IsTruncated": false}, nil
}

// DeleteUserPolicy removes one of a user's inline policies.
func (s *Service) DeleteUserPolicy(ctx context.Context, call *Call, req *userPolicyRequest) (any, *awserr.Error) {
	if req.UserName == "" || req.PolicyName == "" {
		return nil, awserr.New("ValidationError", http.StatusBadRequest, "UserName and PolicyName are required")
	}
	if e := s.authorizeUser(call, &req.UserName); e != nil {
		return nil, e
	}
	return map[string]any{}, s.commit(ctx, call, fsm.CmdDeleteUserPolicy, &fsmpb.DeleteUserPolicy{UserName: req.UserName, PolicyName: req.PolicyName}, map[string]any{})
}
