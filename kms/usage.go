package kms

import (
	"context"

	"github.com/keyraft/keyraft/internal/awserr"
)

// GetKeyLastUsage answers from the usage the FSM notes as each audit batch
// applies (fsm/usage.go): every successful cryptographic request already
// commits its event, so the answer costs no write of its own and is the
// same on every replica. It answers in every key state, as DescribeKey
// does; a key id or ARN only (keyIDOf refuses aliases, as AWS does).
//
// TrackingStartDate is the key's creation for keys created since usage is
// noted. An older key's tracking starts at its first noted use; until
// then the answer says tracking starts now, which AWS's reading (creation
// before tracking start, no usage: unknown before that date) makes true.
func (s *Service) GetKeyLastUsage(ctx context.Context, call Call, req *keyIDRequest) (any, *awserr.Error) {
	id, e := s.keyIDBody(call, req)
	if e != nil {
		return nil, e
	}
	k, e := s.readKey(id)
	if e != nil {
		return nil, e
	}
	since := k.UsageTrackedSince
	if since.IsZero() {
		since = s.now()
	}
	if since.Before(k.CreationDate) {
		since = k.CreationDate
	}
	last := map[string]any{}
	if u := k.LastUsage; !u.Date.IsZero() {
		last["Timestamp"] = epochOf(u.Date)
		last["Operation"] = u.Operation
		last["CloudTrailEventId"] = u.EventID
		last["KmsRequestId"] = u.RequestID
	}
	return map[string]any{
		"KeyId": k.KeyID, "KeyCreationDate": epochOf(k.CreationDate),
		"TrackingStartDate": epochOf(since), "KeyLastUsage": last,
	}, nil
}
