package kms

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strconv"

	"github.com/google/uuid"

	"github.com/keyraft/keyraft/crypto"
	"github.com/keyraft/keyraft/fsm"
	"github.com/keyraft/keyraft/fsm/fsmpb"
)

// KeyMetadata is AWS's KeyMetadata shape. Fields that AWS always sends are
// not omitted: some tools (Terraform) break without them.
type KeyMetadata struct {
	AWSAccountId          string
	KeyId                 string
	Arn                   string
	CreationDate          float64
	Enabled               bool
	Description           string
	KeyUsage              string
	KeyState              string
	Origin                string
	KeyManager            string
	CustomerMasterKeySpec string
	KeySpec               string
	EncryptionAlgorithms  []string
	MultiRegion           bool
}

func (s *Service) metadata(k *fsmpb.Key) KeyMetadata {
	return KeyMetadata{
		AWSAccountId:          s.Account,
		KeyId:                 k.KeyId,
		Arn:                   s.arn(k.KeyId),
		CreationDate:          epochSeconds(k.CreationDate),
		Enabled:               k.KeyState == fsm.StateEnabled,
		Description:           k.Description,
		KeyUsage:              k.KeyUsage,
		KeyState:              k.KeyState,
		Origin:                k.Origin,
		KeyManager:            "CUSTOMER",
		CustomerMasterKeySpec: k.KeySpec,
		KeySpec:               k.KeySpec,
		EncryptionAlgorithms:  []string{"SYMMETRIC_DEFAULT"},
	}
}

// epochSeconds renders a Unix-nanosecond time as AWS's fractional epoch seconds.
func epochSeconds(nanos int64) float64 {
	return float64(nanos/1e6) / 1e3
}

type tag struct {
	TagKey   string
	TagValue string
}

type createKeyRequest struct {
	Description                    *string
	KeyUsage                       *string
	KeySpec                        *string
	CustomerMasterKeySpec          *string
	Origin                         *string
	Policy                         *string
	Tags                           []tag
	BypassPolicyLockoutSafetyCheck bool
	MultiRegion                    bool
}

func (s *Service) createKey(ctx context.Context, body []byte) (any, *Error) {
	var req createKeyRequest
	if e := decode(body, &req); e != nil {
		return nil, e
	}
	if e := req.validate(); e != nil {
		return nil, e
	}
	kr, kerr := s.keyring()
	if kerr != nil {
		return nil, kerr
	}
	id := uuid.New().String()
	material, err := crypto.NewKey(s.rand())
	if err != nil {
		return nil, Internal("could not generate key material")
	}
	sealed, err := kr.Seal(materialPath(id, 1), material, s.rand())
	clear(material)
	if err != nil {
		return nil, Internal("could not seal key material")
	}
	now := s.now()
	k := &fsmpb.Key{
		KeyId: id, CreationDate: now.UnixNano(), KeyUsage: "ENCRYPT_DECRYPT",
		KeySpec: "SYMMETRIC_DEFAULT", KeyState: fsm.StateEnabled, Origin: "AWS_KMS",
		Material: []*fsmpb.KeyMaterial{{Version: 1, Sealed: sealed, CreateDate: now.UnixNano()}},
	}
	if req.Description != nil {
		k.Description = *req.Description
	}
	if req.Policy != nil {
		k.Policy = *req.Policy
	}
	for _, t := range req.Tags {
		k.Tags = append(k.Tags, &fsmpb.Tag{Key: t.TagKey, Value: t.TagValue})
	}
	cmd, err := fsm.NewCommand(fsm.CmdCreateKey, &fsmpb.CreateKey{Key: k}, now)
	if err != nil {
		return nil, Internal("could not encode the command")
	}
	res, perr := s.propose(ctx, cmd)
	if perr != nil {
		return nil, perr
	}
	if err, ok := res.(error); ok {
		if errors.Is(err, fsm.ErrNotInitialized) {
			return nil, Unavailable("The cluster is not initialized.")
		}
		return nil, Internal("the key could not be created")
	}
	return map[string]any{"KeyMetadata": s.metadata(k)}, nil
}

func (r *createKeyRequest) validate() *Error {
	if r.Description != nil {
		if e := checkLen("description", *r.Description, 0, 8192); e != nil {
			return e
		}
	}
	if r.KeyUsage != nil {
		if e := checkEnum("keyUsage", *r.KeyUsage, "SIGN_VERIFY", "ENCRYPT_DECRYPT", "GENERATE_VERIFY_MAC", "KEY_AGREEMENT"); e != nil {
			return e
		}
		if *r.KeyUsage != "ENCRYPT_DECRYPT" {
			return newErr("UnsupportedOperationException", http.StatusBadRequest, "KeyUsage %s is not supported by this server yet.", *r.KeyUsage)
		}
	}
	spec := r.KeySpec
	if spec == nil {
		spec = r.CustomerMasterKeySpec
	} else if r.CustomerMasterKeySpec != nil {
		return validation("keySpec", "KeySpec and CustomerMasterKeySpec cannot both be specified")
	}
	if spec != nil && *spec != "SYMMETRIC_DEFAULT" {
		return newErr("UnsupportedOperationException", http.StatusBadRequest, "KeySpec %s is not supported by this server yet.", *spec)
	}
	if r.Origin != nil {
		if e := checkEnum("origin", *r.Origin, "AWS_KMS", "EXTERNAL", "AWS_CLOUDHSM", "EXTERNAL_KEY_STORE"); e != nil {
			return e
		}
		if *r.Origin != "AWS_KMS" {
			return newErr("UnsupportedOperationException", http.StatusBadRequest, "Origin %s is not supported by this server.", *r.Origin)
		}
	}
	if r.MultiRegion {
		return newErr("UnsupportedOperationException", http.StatusBadRequest, "Multi-Region keys are not supported by this server.")
	}
	if r.Policy != nil {
		if e := checkLen("policy", *r.Policy, 1, 32768); e != nil {
			return e
		}
	}
	if len(r.Tags) > 50 {
		return newErr("TagException", http.StatusBadRequest, "Too many tags: at most 50 are allowed")
	}
	for _, t := range r.Tags {
		if e := checkLen("tags.member.tagKey", t.TagKey, 1, 128); e != nil {
			return e
		}
		if e := checkLen("tags.member.tagValue", t.TagValue, 0, 256); e != nil {
			return e
		}
	}
	return nil
}

func materialPath(keyID string, version uint32) string {
	return "key/" + keyID + "/" + strconv.FormatUint(uint64(version), 10)
}

type describeKeyRequest struct {
	KeyId       string
	GrantTokens []string
}

func (s *Service) describeKey(ctx context.Context, body []byte) (any, *Error) {
	var req describeKeyRequest
	if e := decode(body, &req); e != nil {
		return nil, e
	}
	if e := checkGrantTokens(req.GrantTokens); e != nil {
		return nil, e
	}
	k, e := s.resolveKey("keyId", req.KeyId)
	if e != nil {
		return nil, e
	}
	if e := s.verifyLeader(); e != nil {
		return nil, e
	}
	return map[string]any{"KeyMetadata": s.metadata(k)}, nil
}

type listKeysRequest struct {
	Limit  *int32
	Marker *string
}

type keyListEntry struct {
	KeyId  string
	KeyArn string
}

func (s *Service) listKeys(ctx context.Context, body []byte) (any, *Error) {
	var req listKeysRequest
	if e := decode(body, &req); e != nil {
		return nil, e
	}
	if e := checkRange("limit", req.Limit, 1, 1000); e != nil {
		return nil, e
	}
	limit := 100
	if req.Limit != nil {
		limit = int(*req.Limit)
	}
	ids := s.FSM.KeyIDs()
	start := 0
	if req.Marker != nil {
		if e := checkLen("marker", *req.Marker, 1, 1024); e != nil {
			return nil, e
		}
		// The marker is the last key id of the previous page; keys are listed
		// in id order, so paging stays correct while keys are added.
		start, _ = slices.BinarySearch(ids, *req.Marker)
		if start < len(ids) && ids[start] == *req.Marker {
			start++
		}
	}
	if e := s.verifyLeader(); e != nil {
		return nil, e
	}
	end := min(start+limit, len(ids))
	entries := make([]keyListEntry, 0, end-start)
	for _, id := range ids[start:end] {
		entries = append(entries, keyListEntry{KeyId: id, KeyArn: s.arn(id)})
	}
	out := map[string]any{"Keys": entries, "Truncated": end < len(ids)}
	if end < len(ids) {
		out["NextMarker"] = ids[end-1]
	}
	return out, nil
}
