package kms

import (
	"cmp"
	"context"
	"net/http"
	"slices"
	"strconv"

	"github.com/keyraft/keyraft/fsm"
	"github.com/keyraft/keyraft/fsm/fsmpb"
	"github.com/keyraft/keyraft/internal/awserr"
	"github.com/keyraft/keyraft/seal"
)

// Rotation adds material versions to a key; every older version stays, so
// every ciphertext (which names its version) keeps decrypting.

const defaultRotationPeriodDays = 365

type enableKeyRotationRequest struct {
	KeyId                string
	RotationPeriodInDays *int32
}

func (s *Service) EnableKeyRotation(ctx context.Context, call Call, req *enableKeyRotationRequest) (any, *awserr.Error) {
	id, e := s.authorizedKeyID(call, "keyId", req.KeyId)
	if e != nil {
		return nil, e
	}
	if e := checkRange("rotationPeriodInDays", req.RotationPeriodInDays, 90, 2560); e != nil {
		return nil, e
	}
	if k, ok := s.State.Key(id); ok {
		if e := s.rotatable(k); e != nil {
			return nil, e
		}
		if k.Origin == fsm.OriginExternal {
			return nil, awserr.New("UnsupportedOperationException", http.StatusBadRequest,
				"Automatic rotation is not supported for keys with imported key material: %s. Use RotateKeyOnDemand.", s.arn(id))
		}
	}
	period := int32(defaultRotationPeriodDays)
	if req.RotationPeriodInDays != nil {
		period = *req.RotationPeriodInDays
	}
	now := s.now()
	return nil, s.commit(ctx, call, fsm.CmdSetKeyRotation, &fsmpb.SetKeyRotation{
		KeyId: id, Enabled: true, RotationPeriodDays: period, NextRotationDate: now.Add(s.days(period)).UnixNano(),
	}, now)
}

func (s *Service) DisableKeyRotation(ctx context.Context, call Call, req *keyIDRequest) (any, *awserr.Error) {
	id, e := s.keyIDBody(call, req)
	if e != nil {
		return nil, e
	}
	if k, ok := s.State.Key(id); ok {
		if e := s.rotatable(k); e != nil {
			return nil, e
		}
	}
	return nil, s.commit(ctx, call, fsm.CmdSetKeyRotation, &fsmpb.SetKeyRotation{KeyId: id}, s.now())
}

// getKeyRotationStatus answers in every key state, as AWS does. The period
// and next date appear only while rotation is enabled; on-demand rotations
// complete when they commit, so OnDemandRotationStartDate never appears.
func (s *Service) GetKeyRotationStatus(ctx context.Context, call Call, req *keyIDRequest) (any, *awserr.Error) {
	id, e := s.keyIDBody(call, req)
	if e != nil {
		return nil, e
	}
	k, e := s.readKey(id)
	if e != nil {
		return nil, e
	}
	// Any other key's status is false, as AWS documented it, not an
	// error: tools (Terraform) read every key's status.
	out := map[string]any{"KeyId": s.arn(id), "KeyRotationEnabled": k.RotationEnabled}
	if k.RotationEnabled {
		out["RotationPeriodInDays"] = k.RotationPeriodDays
		out["NextRotationDate"] = epochOf(k.NextRotationDate)
	}
	return out, nil
}

// rotationAttempts bounds the retries of an on-demand rotation that lost a
// race with another rotation of the same key.
const rotationAttempts = 3

func (s *Service) RotateKeyOnDemand(ctx context.Context, call Call, req *keyIDRequest) (any, *awserr.Error) {
	id, e := s.keyIDBody(call, req)
	if e != nil {
		return nil, e
	}
	kr, e := s.keyring()
	if e != nil {
		return nil, e
	}
	for attempt := 1; ; attempt++ {
		k, e := s.readKey(id)
		if e != nil {
			return nil, e
		}
		if e := s.rotatable(k); e != nil {
			return nil, e
		}
		if k.Origin == fsm.OriginExternal {
			if e := s.usable(k); e != nil {
				return nil, e
			}
			e = s.rotateImported(ctx, call, k)
		} else {
			e = s.rotate(ctx, call, kr, k, fsm.RotationTypeOnDemand, 0)
		}
		if e == nil {
			return map[string]any{"KeyId": s.arn(id)}, nil
		}
		if e.Type != "ConflictException" || attempt == rotationAttempts {
			return nil, e
		}
	}
}

// rotatable refuses enabling, disabling or rotating a key other than a
// symmetric encryption key, with AWS's words. A key's spec never changes,
// so this check cannot race.
func (s *Service) rotatable(k *fsm.Key) *awserr.Error {
	if k.KeySpec != specSymmetric || k.KeyUsage != usageEncrypt {
		return awserr.New("UnsupportedOperationException", http.StatusBadRequest,
			"You cannot perform this operation on a non-symmetric key or a key with non-ENCRYPT_DECRYPT key usage.")
	}
	return nil
}

// rotate proposes the next material version of k. nextRotation replaces the
// schedule's next date for automatic rotations and is 0 for on-demand ones.
func (s *Service) rotate(ctx context.Context, call Call, kr *seal.Keyring, k *fsm.Key, rotationType fsm.RotationType, nextRotation int64) *awserr.Error {
	version := k.CurrentVersion() + 1
	sealed, e := s.newMaterial(kr, k.KeyID, version)
	if e != nil {
		return e
	}
	now := s.now()
	return s.commitAnswer(ctx, call, fsm.CmdRotateKey, &fsmpb.RotateKey{
		KeyId:            k.KeyID,
		Material:         &fsmpb.KeyMaterial{Version: version, Sealed: sealed, CreateDate: now.UnixNano(), RotationType: string(rotationType)},
		NextRotationDate: nextRotation,
	}, now, map[string]any{"KeyId": s.arn(k.KeyID)})
}

type listKeyRotationsRequest struct {
	KeyId              string
	IncludeKeyMaterial *string
	Limit              *int32
	Marker             *string
}

type rotationEntry struct {
	KeyId            string
	RotationDate     *float64 `json:",omitempty"`
	RotationType     string   `json:",omitempty"`
	KeyMaterialState string
	// Imported key material (origin EXTERNAL) only.
	KeyMaterialId          string   `json:",omitempty"`
	ImportState            string   `json:",omitempty"`
	ExpirationModel        string   `json:",omitempty"`
	ValidTo                *float64 `json:",omitempty"`
	KeyMaterialDescription string   `json:",omitempty"`
}

// withImport adds an imported material's import record to its entry.
func (e rotationEntry) withImport(r fsm.ImportRecord) rotationEntry {
	e.KeyMaterialId, e.ImportState, e.KeyMaterialDescription = r.KeyMaterialID, "PENDING_IMPORT", r.Description
	if r.Imported {
		e.ImportState, e.ExpirationModel = "IMPORTED", r.ExpirationModel
		if !r.ValidTo.IsZero() {
			e.ValidTo = new(epochOf(r.ValidTo))
		}
	}
	return e
}

// listKeyRotations lists material versions oldest first. The first
// material is not a rotation: AWS lists it only for ALL_KEY_MATERIAL, and
// without a rotation date or type. A marker is the last version listed.
func (s *Service) ListKeyRotations(ctx context.Context, call Call, req *listKeyRotationsRequest) (any, *awserr.Error) {
	id, e := s.authorizedKeyID(call, "keyId", req.KeyId)
	if e != nil {
		return nil, e
	}
	all := false
	if req.IncludeKeyMaterial != nil {
		if e := checkEnum("includeKeyMaterial", *req.IncludeKeyMaterial, "ALL_KEY_MATERIAL", "ROTATIONS_ONLY"); e != nil {
			return nil, e
		}
		all = *req.IncludeKeyMaterial == "ALL_KEY_MATERIAL"
	}
	limit, e := pageLimit(req.Limit, 100, 1000)
	if e != nil {
		return nil, e
	}
	if e := checkMarker(req.Marker); e != nil {
		return nil, e
	}
	var after *uint32
	if req.Marker != nil {
		v, err := strconv.ParseUint(*req.Marker, 10, 32)
		if err != nil {
			return nil, invalidMarker()
		}
		after = new(uint32(v))
	}
	k, e := s.readKey(id)
	if e != nil {
		return nil, e
	}
	materials := slices.SortedFunc(slices.Values(k.Material), func(a, b fsm.KeyMaterial) int {
		return cmp.Compare(a.Version, b.Version)
	})
	current := k.CurrentVersion()
	var versions []uint32
	byVersion := map[uint32]fsm.KeyMaterial{}
	for _, m := range materials {
		if m.RotationType == "" && !all {
			continue
		}
		versions = append(versions, m.Version)
		byVersion[m.Version] = m
	}
	start, end := page(versions, after, limit)
	entries := make([]rotationEntry, 0, end-start)
	for _, v := range versions[start:end] {
		m := byVersion[v]
		entry := rotationEntry{KeyId: id, RotationType: m.RotationType.String(), KeyMaterialState: "NON_CURRENT", KeyMaterialId: materialID(k, v)}
		if m.RotationType != "" {
			entry.RotationDate = new(epochOf(m.CreateDate))
		}
		if v == current {
			entry.KeyMaterialState = "CURRENT"
		}
		for _, r := range k.Imports {
			if r.Version == v {
				entry = entry.withImport(r)
			}
		}
		entries = append(entries, entry)
	}
	// Material imported for the next on-demand rotation is listed after
	// the versions, on the last page, and only for ALL_KEY_MATERIAL: it is
	// not a rotation yet (AWS: "KMS adds the first key material and any
	// imported key material pending rotation" for that value alone).
	if all && end == len(versions) {
		for _, r := range k.Imports {
			if r.Version == 0 {
				entries = append(entries, rotationEntry{KeyId: id, KeyMaterialState: "PENDING_ROTATION"}.withImport(r))
			}
		}
	}
	out := map[string]any{"Rotations": entries, "Truncated": end < len(versions)}
	if end < len(versions) {
		out["NextMarker"] = strconv.FormatUint(uint64(versions[end-1]), 10)
	}
	return out, nil
}
