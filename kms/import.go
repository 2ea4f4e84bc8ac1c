package kms

import (
	"context"
	"encoding/json"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/google/uuid"
	"google.golang.org/protobuf/proto"

	"github.com/keyraft/keyraft/audit"
	"github.com/keyraft/keyraft/crypto"
	"github.com/keyraft/keyraft/fsm"
	"github.com/keyraft/keyraft/fsm/fsmpb"
	"github.com/keyraft/keyraft/internal/awserr"
	"github.com/keyraft/keyraft/policy"
)

// Imported key material (BYOK): GetParametersForImport, ImportKeyMaterial,
// DeleteImportedKeyMaterial, and the rotation of an EXTERNAL symmetric key
// to material imported for it. The leader unwraps and checks the material
// and seals it under the keyring; only sealed material is proposed.

// externalSpecs are the key specs a key of origin EXTERNAL may have.
// ML-DSA, ML-KEM and Ed25519 keys are refused: keyraft does not take their
// material from outside (see docs/api.md).
var externalSpecs = map[string]bool{
	specSymmetric: true, "HMAC_224": true, "HMAC_256": true, "HMAC_384": true, "HMAC_512": true,
	"RSA_2048": true, "RSA_3072": true, "RSA_4096": true,
	"ECC_NIST_P256": true, "ECC_NIST_P384": true, "ECC_NIST_P521": true, "ECC_SECG_P256K1": true,
}

const (
	expires        = "KEY_MATERIAL_EXPIRES"
	doesNotExpire  = "KEY_MATERIAL_DOES_NOT_EXPIRE"
	importNew      = "NEW_KEY_MATERIAL"
	importExisting = "EXISTING_KEY_MATERIAL"
	maxValidToDays = 365
)

func unsupportedNotExternal(s *Service, k *fsm.Key) *awserr.Error {
	return awserr.New("UnsupportedOperationException", http.StatusBadRequest,
		"%s origin is %s which is not valid for this operation.", s.arn(k.KeyID), k.Origin)
}

// importableState refuses a key whose state forbids (re)importing.
func (s *Service) importableState(k *fsm.Key) *awserr.Error {
	switch k.KeyState {
	case fsm.StatePendingImport, fsm.StateEnabled, fsm.StateDisabled:
		return nil
	}
	return s.stateError(fsm.CmdImportKeyMaterial, &fsm.KeyStateError{KeyID: k.KeyID, State: k.KeyState})
}

type getParametersForImportRequest struct {
	KeyId             string
	WrappingAlgorithm *string
	WrappingKeySpec   *string
}

func (s *Service) GetParametersForImport(ctx context.Context, call Call, req *getParametersForImportRequest) (any, *awserr.Error) {
	if req.WrappingAlgorithm == nil {
		return nil, validation("wrappingAlgorithm", "Member must not be null")
	}
	if req.WrappingKeySpec == nil {
		return nil, validation("wrappingKeySpec", "Member must not be null")
	}
	if e := firstErr(checkEnum("wrappingAlgorithm", *req.WrappingAlgorithm, wrappingAlgorithmEnum...),
		checkEnum("wrappingKeySpec", *req.WrappingKeySpec, wrappingKeySpecEnum...)); e != nil {
		return nil, e
	}
	id, e := s.keyIDOf("keyId", req.KeyId)
	if e != nil {
		return nil, e
	}
	k, e := s.readKey(id)
	if e != nil {
		return nil, e
	}
	alg, spec := *req.WrappingAlgorithm, *req.WrappingKeySpec
	if e := s.authorizeWith(call, k, nil, nil, policy.Algorithms{WrappingAlgorithm: alg, WrappingKeySpec: spec}); e != nil {
		return nil, e
	}
	if k.Origin != fsm.OriginExternal {
		return nil, unsupportedNotExternal(s, k)
	}
	if e := s.importableState(k); e != nil {
		return nil, e
	}
	switch {
	case spec == "SM2" || alg == "SM2PKE":
		return nil, awserr.New("UnsupportedOperationException", http.StatusBadRequest,
			"SM2 wrapping is available only in AWS China Regions and is not supported by this server.")
	case alg == "RSAES_PKCS1_V1_5":
		return nil, awserr.New("ValidationException", http.StatusBadRequest,
			"The RSAES_PKCS1_V1_5 wrapping algorithm is no longer supported.")
	case (alg == crypto.WrapOAEPSHA1 || alg == crypto.WrapOAEPSHA256) && keySpecs[k.KeySpec].asymmetric &&
		(rsaKeySpec(k.KeySpec) || (k.KeySpec == "ECC_NIST_P521" && spec == "RSA_2048")):
		return nil, awserr.New("ValidationException", http.StatusBadRequest,
			"Wrapping algorithm %s with wrapping key spec %s cannot wrap %s key material; use RSA_AES_KEY_WRAP_SHA_1 or RSA_AES_KEY_WRAP_SHA_256.",
			alg, spec, k.KeySpec)
	}
	kr, e := s.keyring()
	if e != nil {
		return nil, e
	}
	priv, err := crypto.GenerateWrappingKey(wrappingBits[spec])
	if err != nil {
		return nil, Internal("could not generate the wrapping key")
	}
	defer clear(priv)
	wk, err := crypto.ParseWrappingKey(priv)
	if err != nil {
		return nil, Internal("could not read the wrapping key")
	}
	pub, err := crypto.WrappingPublicKeyDER(wk)
	if err != nil {
		return nil, Internal("could not encode the wrapping public key")
	}
	validTo := s.now().Add(importTokenValidity)
	token, err := sealImportToken(kr, &importToken{keyID: k.KeyID, spec: spec, alg: alg, validTo: validTo, wrappingKey: priv}, s.rand())
	if err != nil {
		return nil, Sealed()
	}
	return map[string]any{
		"KeyId": s.arn(k.KeyID), "ImportToken": token, "PublicKey": pub,
		"ParametersValidTo": epochOf(validTo),
	}, nil
}

func rsaKeySpec(spec string) bool {
	return spec == "RSA_2048" || spec == "RSA_3072" || spec == "RSA_4096"
}

type importKeyMaterialRequest struct {
	KeyId                  string
	ImportToken            []byte
	EncryptedKeyMaterial   []byte
	ValidTo                *float64
	ExpirationModel        *string
	ImportType             *string
	KeyMaterialDescription *string
	KeyMaterialId          *string
}

// checkExpiration validates ExpirationModel and ValidTo and returns the
// model and the expiry (zero for none).
func (s *Service) checkExpiration(req *importKeyMaterialRequest, now time.Time) (string, time.Time, *awserr.Error) {
	model := expires
	if req.ExpirationModel != nil {
		if e := checkEnum("expirationModel", *req.ExpirationModel, expires, doesNotExpire); e != nil {
			return "", time.Time{}, e
		}
		model = *req.ExpirationModel
	}
	if model == doesNotExpire {
		if req.ValidTo != nil {
			return "", time.Time{}, awserr.New("ValidationException", http.StatusBadRequest,
				"ValidTo must not be specified when ExpirationModel is KEY_MATERIAL_DOES_NOT_EXPIRE.")
		}
		return model, time.Time{}, nil
	}
	if req.ValidTo == nil {
		return "", time.Time{}, awserr.New("ValidationException", http.StatusBadRequest,
			"ValidTo is required when ExpirationModel is KEY_MATERIAL_EXPIRES.")
	}
	v := *req.ValidTo
	if math.IsNaN(v) || math.IsInf(v, 0) || v > float64(math.MaxInt64/int64(time.Second)) || v < 0 {
		return "", time.Time{}, validation("validTo", "Member must be a valid timestamp")
	}
	validTo := time.Unix(0, int64(v*float64(time.Second))).UTC()
	if !validTo.After(now) {
		return "", time.Time{}, awserr.New("ValidationException", http.StatusBadRequest, "ValidTo must be in the future.")
	}
	if validTo.After(now.Add(maxValidToDays * 24 * time.Hour)) {
		return "", time.Time{}, awserr.New("ValidationException", http.StatusBadRequest,
			"ValidTo must be at most %d days from now.", maxValidToDays)
	}
	return model, validTo, nil
}

func (s *Service) ImportKeyMaterial(ctx context.Context, call Call, req *importKeyMaterialRequest) (any, *awserr.Error) {
	if e := firstErr(checkBlobLen("importToken", req.ImportToken, 1, maxImportBlob),
		checkBlobLen("encryptedKeyMaterial", req.EncryptedKeyMaterial, 1, maxImportBlob)); e != nil {
		return nil, e
	}
	if req.ImportType != nil {
		if e := checkEnum("importType", *req.ImportType, importNew, importExisting); e != nil {
			return nil, e
		}
	}
	if req.KeyMaterialDescription != nil {
		if e := checkLen("keyMaterialDescription", *req.KeyMaterialDescription, 0, 256); e != nil {
			return nil, e
		}
	}
	if req.KeyMaterialId != nil {
		if e := checkLen("keyMaterialId", *req.KeyMaterialId, 64, 64); e != nil {
			return nil, e
		}
	}
	now := s.now()
	model, validTo, e := s.checkExpiration(req, now)
	if e != nil {
		return nil, e
	}
	id, e := s.keyIDOf("keyId", req.KeyId)
	if e != nil {
		return nil, e
	}
	k, e := s.readKey(id)
	if e != nil {
		return nil, e
	}
	conds := policy.Algorithms{ExpirationModel: model}
	if !validTo.IsZero() {
		conds.ValidTo = strconv.FormatInt(validTo.Unix(), 10)
	}
	if e := s.authorizeWith(call, k, nil, nil, conds); e != nil {
		return nil, e
	}
	if k.Origin != fsm.OriginExternal {
		return nil, unsupportedNotExternal(s, k)
	}
	if e := s.importableState(k); e != nil {
		return nil, e
	}
	symmetric := k.KeySpec == specSymmetric
	if !symmetric && (req.ImportType != nil || req.KeyMaterialId != nil || req.KeyMaterialDescription != nil) {
		return nil, awserr.New("ValidationException", http.StatusBadRequest,
			"ImportType, KeyMaterialId and KeyMaterialDescription are valid only for symmetric encryption keys.")
	}
	if req.ImportType != nil && *req.ImportType == importNew && req.KeyMaterialId != nil {
		return nil, awserr.New("ValidationException", http.StatusBadRequest,
			"KeyMaterialId cannot be specified with ImportType NEW_KEY_MATERIAL.")
	}
	kr, e := s.keyring()
	if e != nil {
		return nil, e
	}
	tok, e := openImportToken(kr, k.KeyID, req.ImportToken)
	if e != nil {
		return nil, e
	}
	defer clear(tok.wrappingKey)
	if !now.Before(tok.validTo) {
		return nil, awserr.New("ExpiredImportTokenException", http.StatusBadRequest,
			"The import token expired; call GetParametersForImport for a new one.")
	}
	wk, err := crypto.ParseWrappingKey(tok.wrappingKey)
	if err != nil {
		return nil, invalidImportToken()
	}
	plain, err := crypto.UnwrapKeyMaterial(wk, tok.alg, req.EncryptedKeyMaterial)
	if err != nil {
		return nil, awserr.New("InvalidCiphertextException", http.StatusBadRequest,
			"The encrypted key material could not be decrypted with the import token's wrapping key and algorithm.")
	}
	defer clear(plain)
	im, e := checkImportedMaterial(k.KeyID, k.KeySpec, plain)
	if e != nil {
		return nil, e
	}
	defer clear(im.canonical)

	// Which case this is: the FSM checks it again when the command applies.
	rec := fsm.ImportRecord{KeyMaterialID: im.id, Imported: true, ExpirationModel: model, ValidTo: validTo}
	if req.KeyMaterialDescription != nil {
		rec.Description = *req.KeyMaterialDescription
	}
	old, known := k.Import(im.id)
	importType := importExisting
	if len(k.Imports) == 0 {
		importType = importNew
	}
	if req.ImportType != nil {
		importType = *req.ImportType
	}
	switch {
	case req.KeyMaterialId != nil && *req.KeyMaterialId != im.id:
		return nil, incorrectKeyMaterial("The key material does not match the KeyMaterialId.")
	case importType == importExisting && !known:
		return nil, incorrectKeyMaterial("The key material is not the key material previously imported into this KMS key.")
	case importType == importNew && known:
		return nil, incorrectKeyMaterial("This key material was already imported into this KMS key; import it with ImportType EXISTING_KEY_MATERIAL.")
	case known:
		rec.Version = old.Version
	case len(k.Imports) == 0:
		rec.Version = 1
	}
	var sealed []byte
	if rec.Version == 0 {
		if rec.SealedPending, err = kr.Seal(pendingMaterialPath(k.KeyID, im.id), im.canonical, s.rand()); err != nil {
			return nil, Sealed()
		}
	} else if sealed, err = kr.Seal(materialPath(k.KeyID, rec.Version), im.canonical, s.rand()); err != nil {
		return nil, Sealed()
	}
	answer := map[string]any{"KeyId": s.arn(k.KeyID), "KeyMaterialId": im.id}
	if e := s.commitAnswer(ctx, call, fsm.CmdImportKeyMaterial, &fsmpb.ImportKeyMaterial{
		KeyId: k.KeyID, Record: fsm.ImportRecordCommand(rec), Sealed: sealed, NewMaterial: importType == importNew,
	}, now, answer); e != nil {
		return nil, e
	}
	return answer, nil
}

type deleteImportedKeyMaterialRequest struct {
	KeyId         string
	KeyMaterialId *string
}

func (s *Service) DeleteImportedKeyMaterial(ctx context.Context, call Call, req *deleteImportedKeyMaterialRequest) (any, *awserr.Error) {
	if req.KeyMaterialId != nil {
		if e := checkLen("keyMaterialId", *req.KeyMaterialId, 64, 64); e != nil {
			return nil, e
		}
	}
	id, e := s.keyIDOf("keyId", req.KeyId)
	if e != nil {
		return nil, e
	}
	k, e := s.readKey(id)
	if e != nil {
		return nil, e
	}
	if e := s.authorize(call, k, nil, nil); e != nil {
		return nil, e
	}
	if k.Origin != fsm.OriginExternal {
		return nil, unsupportedNotExternal(s, k)
	}
	var materialID string
	if req.KeyMaterialId != nil {
		materialID = *req.KeyMaterialId
		if _, ok := k.Import(materialID); !ok {
			return nil, notFound("Key material %s is not associated with %s.", materialID, s.arn(k.KeyID))
		}
	} else {
		cur, ok := k.CurrentImport()
		if !ok {
			return nil, s.stateError(fsm.CmdDeleteImportedKeyMaterial, &fsm.KeyStateError{KeyID: k.KeyID, State: fsm.StatePendingImport})
		}
		materialID = cur.KeyMaterialID
	}
	answer := map[string]any{"KeyId": s.arn(k.KeyID), "KeyMaterialId": materialID}
	if e := s.commitAnswer(ctx, call, fsm.CmdDeleteImportedKeyMaterial, &fsmpb.ImportDeleteMaterial{
		KeyId: k.KeyID, KeyMaterialId: materialID,
	}, s.now(), answer); e != nil {
		return nil, e
	}
	s.dropImportedMaterial(k.KeyID)
	return answer, nil
}

// rotateImported is RotateKeyOnDemand of an EXTERNAL symmetric key: the
// material imported with NEW_KEY_MATERIAL becomes the next version, resealed
// at that version's path.
func (s *Service) rotateImported(ctx context.Context, call Call, k *fsm.Key) *awserr.Error {
	var pending *fsm.ImportRecord
	for i := range k.Imports {
		if k.Imports[i].Version == 0 {
			pending = &k.Imports[i]
		}
	}
	if pending == nil {
		return awserr.New("KMSInvalidStateException", http.StatusConflict,
			"%s has no key material pending rotation: import new key material (ImportType NEW_KEY_MATERIAL) first.", s.arn(k.KeyID))
	}
	kr, e := s.keyring()
	if e != nil {
		return e
	}
	m, err := kr.Open(pendingMaterialPath(k.KeyID, pending.KeyMaterialID), pending.SealedPending)
	if err != nil {
		return Internal("key material could not be opened")
	}
	defer clear(m)
	version := k.CurrentVersion() + 1
	sealed, err := kr.Seal(materialPath(k.KeyID, version), m, s.rand())
	if err != nil {
		return Sealed()
	}
	now := s.now()
	return s.commitAnswer(ctx, call, fsm.CmdRotateImportedKey, &fsmpb.ImportRotate{
		KeyId: k.KeyID, KeyMaterialId: pending.KeyMaterialID,
		Material: &fsmpb.KeyMaterial{Version: version, Sealed: sealed, CreateDate: now.UnixNano(), RotationType: string(fsm.RotationTypeOnDemand)},
	}, now, map[string]any{"KeyId": s.arn(k.KeyID)})
}

// expireImported proposes the expiry of every imported material of k whose
// ValidTo has passed; the FSM re-checks the date against the command's.
func (s *Service) expireImported(ctx context.Context, k *fsm.Key, now time.Time) error {
	expired := false
	for _, r := range k.Imports {
		if !r.Imported || r.ValidTo.IsZero() || r.ValidTo.After(now) {
			continue
		}
		if err := s.proposeAudited(ctx, fsm.CmdDeleteImportedKeyMaterial, &fsmpb.ImportDeleteMaterial{
			KeyId: k.KeyID, KeyMaterialId: r.KeyMaterialID, Expire: true,
		}, now); err != nil {
			return err
		}
		expired = true
	}
	if expired {
		s.dropImportedMaterial(k.KeyID)
	}
	return nil
}

// dropImportedMaterial zeroes what this node cached of the key's material
// versions that the state no longer holds.
func (s *Service) dropImportedMaterial(keyID string) { s.dropStale(keyID + "/") }

// proposeAudited is proposeRaw for a change the service makes by itself
// (no request): the command carries a CloudTrail AwsServiceEvent, as AWS
// logs DeleteExpiredKeyMaterial, so the change and its record commit together.
func (s *Service) proposeAudited(ctx context.Context, t fsm.CommandType, payload proto.Message, now time.Time) error {
	keyID := keyIDIn(payload)
	ev := &audit.Event{
		EventVersion: audit.EventVersion, EventTime: now.UTC().Format(time.RFC3339Nano),
		EventSource: audit.EventSource, EventName: "DeleteExpiredKeyMaterial", EventType: "AwsServiceEvent",
		AWSRegion: s.Region, UserIdentity: &audit.UserIdentity{Type: "AWSService", AccountID: s.Account},
		SourceIPAddress: "AWS Internal", UserAgent: "AWS Internal",
		RequestParameters: map[string]any{}, ResponseElements: map[string]any{"keyId": s.arn(keyID)},
		RequestID: uuid.NewString(), EventID: uuid.NewString(), RecipientAccountID: s.Account,
		Resources: []audit.Resource{{ARN: s.arn(keyID), AccountID: s.Account, Type: "AWS::KMS::Key"}},
	}
	if p, ok := payload.(*fsmpb.ImportDeleteMaterial); ok {
		ev.ResponseElements["keyMaterialId"] = p.KeyMaterialId
	}
	body, err := json.Marshal(ev)
	if err != nil {
		return err
	}
	cmd, err := fsm.NewAuditedCommand(t, payload, now, body)
	if err != nil {
		return err
	}
	if _, err = s.Propose(ctx, cmd); fsm.Refused(err) {
		return nil
	}
	return err
}
