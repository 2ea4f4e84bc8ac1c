package kms

import (
	"context"

	"github.com/keyraft/keyraft/fsm"
	"github.com/keyraft/keyraft/fsm/fsmpb"
	"github.com/keyraft/keyraft/internal/awserr"
)

// Key lifecycle: description, enable/disable, scheduled deletion. AWS
// accepts only a key id or key ARN here, and the FSM decides which states
// allow each change (see the key state table in the reference).

type keyIDRequest struct {
	KeyId string
}

// keyIDBody resolves the key of a request whose only member is KeyId and
// authorizes the caller on that key.
func (s *Service) keyIDBody(call Call, req *keyIDRequest) (string, *awserr.Error) {
	return s.authorizedKeyID(call, "keyId", req.KeyId)
}

// authorizedKeyID is keyIDOf followed by the caller's authorization on the
// key (a key that does not exist is left to the FSM's NotFound).
func (s *Service) authorizedKeyID(call Call, field, ref string) (string, *awserr.Error) {
	id, e := s.keyIDOf(field, ref)
	if e != nil {
		return "", e
	}
	return id, s.authorizeKeyID(call, id)
}

type updateKeyDescriptionRequest struct {
	KeyId       string
	Description *string
}

func (s *Service) UpdateKeyDescription(ctx context.Context, call Call, req *updateKeyDescriptionRequest) (any, *awserr.Error) {
	id, e := s.authorizedKeyID(call, "keyId", req.KeyId)
	if e != nil {
		return nil, e
	}
	if req.Description == nil {
		return nil, validation("description", "Member must not be null")
	}
	if e := checkLen("description", *req.Description, 0, 8192); e != nil {
		return nil, e
	}
	return nil, s.commit(ctx, call, fsm.CmdUpdateKeyDescription,
		&fsmpb.UpdateKeyDescription{KeyId: id, Description: *req.Description}, s.now())
}

func (s *Service) EnableKey(ctx context.Context, call Call, req *keyIDRequest) (any, *awserr.Error) {
	return nil, s.setKeyEnabled(ctx, call, req, true)
}

func (s *Service) DisableKey(ctx context.Context, call Call, req *keyIDRequest) (any, *awserr.Error) {
	return nil, s.setKeyEnabled(ctx, call, req, false)
}

func (s *Service) setKeyEnabled(ctx context.Context, call Call, req *keyIDRequest, enabled bool) *awserr.Error {
	id, e := s.keyIDBody(call, req)
	if e != nil {
		return e
	}
	return s.commit(ctx, call, fsm.CmdSetKeyEnabled, &fsmpb.SetKeyEnabled{KeyId: id, Enabled: enabled}, s.now())
}

type scheduleKeyDeletionRequest struct {
	KeyId               string
	PendingWindowInDays *int32
}

func (s *Service) ScheduleKeyDeletion(ctx context.Context, call Call, req *scheduleKeyDeletionRequest) (any, *awserr.Error) {
	id, e := s.authorizedKeyID(call, "keyId", req.KeyId)
	if e != nil {
		return nil, e
	}
	// The wire allows 1–365; the documented and enforced window is 7–30.
	if e := checkRange("pendingWindowInDays", req.PendingWindowInDays, 7, 30); e != nil {
		return nil, e
	}
	window := int32(30)
	if req.PendingWindowInDays != nil {
		window = *req.PendingWindowInDays
	}
	now := s.now()
	date := now.Add(s.days(window)).UnixNano()
	answer := map[string]any{
		"KeyId": s.arn(id), "DeletionDate": epochSeconds(date),
		"KeyState": fsm.StatePendingDeletion, "PendingWindowInDays": window,
	}
	if e := s.commitAnswer(ctx, call, fsm.CmdScheduleKeyDeletion,
		&fsmpb.ScheduleKeyDeletion{KeyId: id, DeletionDate: date, PendingWindowDays: window}, now, answer); e != nil {
		return nil, e
	}
	return answer, nil
}

func (s *Service) CancelKeyDeletion(ctx context.Context, call Call, req *keyIDRequest) (any, *awserr.Error) {
	id, e := s.keyIDBody(call, req)
	if e != nil {
		return nil, e
	}
	answer := map[string]any{"KeyId": s.arn(id)}
	if e := s.commitAnswer(ctx, call, fsm.CmdCancelKeyDeletion, &fsmpb.KeyRef{KeyId: id}, s.now(), answer); e != nil {
		return nil, e
	}
	return answer, nil
}
