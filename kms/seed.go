package kms

import (
	"context"
	"net/http"

	"github.com/google/uuid"

	"github.com/keyraft/keyraft/crypto"
	"github.com/keyraft/keyraft/fsm"
	"github.com/keyraft/keyraft/fsm/fsmpb"
	"github.com/keyraft/keyraft/internal/awserr"
	"github.com/keyraft/keyraft/policy"
	"github.com/keyraft/keyraft/seal"
)

// SeedKey is one key of a `server -dev -seed` file: CreateKey's request
// with the id and, optionally, the material fixed by the file, so that a
// test suite can rely on them across runs.
type SeedKey struct {
	KeyID       string
	Description *string
	KeySpec     *string
	KeyUsage    *string
	Policy      *string
	Tags        [][2]string // key, value
	Aliases     []string
	// Material is the key's plaintext material (nil: generated): 32 bytes
	// for SYMMETRIC_DEFAULT, the spec's length for HMAC, PKCS#8 DER for an
	// asymmetric spec. Seed clears it.
	Material []byte
}

// Seed creates one key of a seed file and its aliases through the same
// replicated commands CreateKey and CreateAlias propose. It is the
// operator's setup, not a caller's request: no policy is consulted (the
// seed may give a key a policy the root could not write through the API),
// and the caller (cmd/keyraft) audits it as a setup event.
func (s *Service) Seed(ctx context.Context, k SeedKey) *awserr.Error {
	defer clear(k.Material)
	if u, err := uuid.Parse(k.KeyID); err != nil || u.String() != k.KeyID {
		return validation("keyId", "KeyId must be a lower-case UUID such as 1234abcd-12ab-34cd-56ef-1234567890ab")
	}
	if _, ok := s.State.Key(k.KeyID); ok {
		return awserr.New("AlreadyExistsException", http.StatusBadRequest, "Key %s already exists.", s.arn(k.KeyID))
	}
	req := &createKeyRequest{Description: k.Description, KeySpec: k.KeySpec, KeyUsage: k.KeyUsage}
	for _, t := range k.Tags {
		req.Tags = append(req.Tags, tag{TagKey: t[0], TagValue: t[1]})
	}
	spec, usage, e := req.validate()
	if e != nil {
		return e
	}
	for _, a := range k.Aliases {
		if e := checkNewAliasName(a); e != nil {
			return e
		}
	}
	doc := string(policy.DefaultKeyPolicy(s.Account))
	if k.Policy != nil {
		root := Call{Caller: Caller{PrincipalARN: "arn:aws:iam::" + s.Account + ":root"}, Op: "CreateKey"}
		if e := s.checkKeyPolicy(root, *k.Policy, true); e != nil {
			return e
		}
		doc = *k.Policy
	}
	kr, e := s.keyring()
	if e != nil {
		return e
	}
	var sealed []byte
	if k.Material == nil {
		sealed, e = s.newSpecMaterial(kr, k.KeyID, spec)
	} else {
		sealed, e = s.sealSeedMaterial(kr, k.KeyID, spec, k.Material)
	}
	if e != nil {
		return e
	}
	now := s.now()
	key := &fsm.Key{
		KeyID: k.KeyID, CreationDate: now, KeyUsage: usage,
		KeySpec: spec, KeyState: fsm.StateEnabled, Origin: "AWS_KMS",
		Material: []fsm.KeyMaterial{{Version: 1, Sealed: sealed, CreateDate: now}},
		Policy:   doc, Tags: domainTags(req.Tags),
	}
	if k.Description != nil {
		key.Description = *k.Description
	}
	if e := s.commit(ctx, Call{}, fsm.CmdCreateKey, fsm.CreateKeyCommand(*key), now); e != nil {
		return e
	}
	for _, a := range k.Aliases {
		if e := s.commit(ctx, Call{}, fsm.CmdCreateAlias, &fsmpb.AliasChange{AliasName: a, TargetKeyId: k.KeyID}, s.now()); e != nil {
			return e
		}
	}
	return nil
}

// sealSeedMaterial checks fixed material against the spec and seals it as
// newSpecMaterial seals generated material. Errors never quote the bytes.
func (s *Service) sealSeedMaterial(kr *seal.Keyring, keyID, spec string, material []byte) ([]byte, *awserr.Error) {
	ks := keySpecs[spec]
	switch {
	case ks.asymmetric:
		pk, err := crypto.ParsePrivateKey(material)
		if err != nil {
			return nil, validation("material", "the material is not a PKCS#8 DER private key keyraft can read")
		}
		got := pk.Spec
		pk.Wipe()
		if string(got) != spec {
			return nil, validation("material", "the material is a "+string(got)+" key, not "+spec)
		}
	case ks.macSize != 0:
		if len(material) != ks.macSize {
			return nil, validation("material", "HMAC material for this spec must be exactly the spec's key length")
		}
	default:
		if len(material) != 32 {
			return nil, validation("material", "SYMMETRIC_DEFAULT material must be exactly 32 bytes")
		}
	}
	sealed, err := kr.Seal(materialPath(keyID, 1), material, s.rand())
	if err != nil {
		return nil, Internal("could not seal key material")
	}
	return sealed, nil
}
