package fsm

import (
	"bytes"
	"maps"
	"slices"
	"time"

	"github.com/keyraft/keyraft/fsm/fsmpb"
)

// The domain types below are what Query hands out. The fsmpb messages are
// the log's and the snapshots' encoding and stay inside this package, so
// that a change of wire layout does not reach the services, and the
// services' copies never share memory with Apply.

// KeyState is a key's lifecycle state, named as AWS names it.
type KeyState string

// Key states, as AWS names them.
const (
	StateEnabled         KeyState = "Enabled"
	StateDisabled        KeyState = "Disabled"
	StatePendingDeletion KeyState = "PendingDeletion"
	// StatePendingImport: an EXTERNAL key without (all of) its material.
	StatePendingImport KeyState = "PendingImport"
)

// OriginExternal is the origin of a key for imported key material.
const OriginExternal = "EXTERNAL"

func (s KeyState) String() string { return string(s) }

// RotationType says how a key's material version came to be.
type RotationType string

// Rotation types, as AWS names them; "" for a key's first material.
const (
	RotationTypeAutomatic RotationType = "AUTOMATIC"
	RotationTypeOnDemand  RotationType = "ON_DEMAND"
)

func (t RotationType) String() string { return string(t) }

// Key is a KMS key: its metadata and every version of its sealed material.
type Key struct {
	KeyID        string
	CreationDate time.Time
	Description  string
	KeyUsage     string
	KeySpec      string
	KeyState     KeyState
	Origin       string
	Material     []KeyMaterial
	Tags         []Tag
	Policy       string // the key policy document
	// DeletionDate and PendingWindowDays are set while the key is pending deletion.
	DeletionDate       time.Time
	PendingWindowDays  int32
	RotationEnabled    bool
	RotationPeriodDays int32
	NextRotationDate   time.Time // zero unless automatic rotation is on
	// Imports are an EXTERNAL key's import records, in import order.
	Imports []ImportRecord
}

// ImportRecord is one imported key material of an EXTERNAL key.
type ImportRecord struct {
	KeyMaterialID string
	// Version is the KeyMaterial version it is; 0 while it awaits
	// RotateKeyOnDemand (then SealedPending holds it).
	Version         uint32
	SealedPending   []byte
	Imported        bool // false once deleted or expired
	ExpirationModel string
	ValidTo         time.Time // zero: never expires
	Description     string
}

// ImportRecordCommand is the wire form of an import record, for CmdImportKeyMaterial.
func ImportRecordCommand(r ImportRecord) *fsmpb.ImportMaterial {
	return &fsmpb.ImportMaterial{
		KeyMaterialId: r.KeyMaterialID, Version: r.Version, SealedPending: r.SealedPending, Imported: r.Imported,
		ExpirationModel: r.ExpirationModel, ValidTo: nanosOf(r.ValidTo), Description: r.Description,
	}
}

// CurrentImport is the import record of the key's current material, if the key is EXTERNAL.
func (k *Key) CurrentImport() (ImportRecord, bool) {
	v := k.CurrentVersion()
	for _, r := range k.Imports {
		if r.Version == v && v != 0 {
			return r, true
		}
	}
	return ImportRecord{}, false
}

// Import finds the import record of a key material id.
func (k *Key) Import(id string) (ImportRecord, bool) {
	for _, r := range k.Imports {
		if r.KeyMaterialID == id {
			return r, true
		}
	}
	return ImportRecord{}, false
}

// KeyMaterial is one version of a key's material, sealed under the keyring.
type KeyMaterial struct {
	Version      uint32
	Sealed       []byte
	CreateDate   time.Time
	RotationType RotationType
}

// Tag is one of a key's tags.
type Tag struct{ Key, Value string }

// CurrentVersion is the newest material version of the key.
func (k *Key) CurrentVersion() uint32 {
	var v uint32
	for _, m := range k.Material {
		v = max(v, m.Version)
	}
	return v
}

// Alias names a key.
type Alias struct {
	AliasName       string
	TargetKeyID     string
	CreationDate    time.Time
	LastUpdatedDate time.Time
}

// Grant lets GranteePrincipal use key KeyID for Operations, under the
// encryption-context constraints if any.
type Grant struct {
	GrantID           string
	KeyID             string
	Name              string
	CreationDate      time.Time
	GranteePrincipal  string
	RetiringPrincipal string
	IssuingAccount    string
	Operations        []string // sorted
	ContextEquals     map[string]string
	ContextSubset     map[string]string
	Token             string
}

// User is an IAM user and its identity policies, sorted by name.
type User struct {
	Name       string
	ARN        string
	UserID     string
	CreateDate time.Time
	Policies   []UserPolicy
}

// UserPolicy is one of a user's inline identity policies.
type UserPolicy struct{ Name, Document string }

// AccessKey is an access key: the root's (UserName "") or a user's.
type AccessKey struct {
	AccessKeyID  string
	SealedSecret []byte // sealed under the keyring
	PrincipalARN string
	CreateDate   time.Time
	UserName     string
}

// InitRecord is what the init ceremony recorded: the Shamir parameters, the
// barrier keyring sealed under the root key, and the root's access key.
type InitRecord struct {
	Shares, Threshold int
	SealedKeyring     []byte
	RootAccessKey     AccessKey
	// KeyringUpgrades are the terms rotation added after those
	// SealedKeyring holds (seal.Keyring.Upgrade); KeyringTerm is the newest.
	KeyringUpgrades [][]byte
	KeyringTerm     uint32
	// ClusterID is set by the first rekey: the cluster's identity from
	// then on (Query.ClusterID).
	ClusterID string
}

// RekeyConfig is the rekey in progress (operator rekey), as replicated.
type RekeyConfig struct {
	Nonce             string
	Shares, Threshold int
	Verify            bool
	Started           time.Time
	// Set once the current shares authorised a rekey needing verification.
	PendingSealedKeyring []byte
	PendingKeyringTerm   uint32
	VerificationNonce    string
}

// SealedRef is one value sealed under the keyring, where it lives in the
// state (fsm.SealedKeyMaterial, SealedAccessKey or SealedPendingImport), for the re-seal after
// a rotation.
type SealedRef struct {
	Kind    uint32
	ID      string
	Version uint32
	Sealed  []byte
}

// timeOf reads a Unix-nanosecond field; 0 (unset) is the zero time.
func timeOf(nanos int64) time.Time {
	if nanos == 0 {
		return time.Time{}
	}
	return time.Unix(0, nanos).UTC()
}

// nanosOf is timeOf's inverse.
func nanosOf(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func keyOf(k *fsmpb.Key) Key {
	out := Key{
		KeyID: k.KeyId, CreationDate: timeOf(k.CreationDate), Description: k.Description,
		KeyUsage: k.KeyUsage, KeySpec: k.KeySpec, KeyState: KeyState(k.KeyState), Origin: k.Origin,
		Policy: k.Policy, DeletionDate: timeOf(k.DeletionDate), PendingWindowDays: k.PendingWindowDays,
		RotationEnabled: k.RotationEnabled, RotationPeriodDays: k.RotationPeriodDays,
		NextRotationDate: timeOf(k.NextRotationDate),
	}
	for _, r := range k.Imports {
		out.Imports = append(out.Imports, ImportRecord{
			KeyMaterialID: r.KeyMaterialId, Version: r.Version, SealedPending: bytes.Clone(r.SealedPending), Imported: r.Imported,
			ExpirationModel: r.ExpirationModel, ValidTo: timeOf(r.ValidTo), Description: r.Description,
		})
	}
	for _, m := range k.Material {
		out.Material = append(out.Material, KeyMaterial{
			Version: m.Version, Sealed: bytes.Clone(m.Sealed), CreateDate: timeOf(m.CreateDate), RotationType: RotationType(m.RotationType),
		})
	}
	for _, t := range k.Tags {
		out.Tags = append(out.Tags, Tag{Key: t.Key, Value: t.Value})
	}
	return out
}

// CreateKeyCommand is the payload of CmdCreateKey for a new key.
func CreateKeyCommand(k Key) *fsmpb.CreateKey {
	pb := &fsmpb.Key{
		KeyId: k.KeyID, CreationDate: nanosOf(k.CreationDate), Description: k.Description,
		KeyUsage: k.KeyUsage, KeySpec: k.KeySpec, KeyState: string(k.KeyState), Origin: k.Origin,
		Policy: k.Policy, DeletionDate: nanosOf(k.DeletionDate), PendingWindowDays: k.PendingWindowDays,
		RotationEnabled: k.RotationEnabled, RotationPeriodDays: k.RotationPeriodDays,
		NextRotationDate: nanosOf(k.NextRotationDate),
	}
	for _, m := range k.Material {
		pb.Material = append(pb.Material, &fsmpb.KeyMaterial{
			Version: m.Version, Sealed: m.Sealed, CreateDate: nanosOf(m.CreateDate), RotationType: string(m.RotationType),
		})
	}
	for _, t := range k.Tags {
		pb.Tags = append(pb.Tags, &fsmpb.Tag{Key: t.Key, Value: t.Value})
	}
	return &fsmpb.CreateKey{Key: pb}
}

func aliasOf(a *fsmpb.Alias) Alias {
	return Alias{AliasName: a.AliasName, TargetKeyID: a.TargetKeyId,
		CreationDate: timeOf(a.CreationDate), LastUpdatedDate: timeOf(a.LastUpdatedDate)}
}

// grantView is a grant as a match function sees it, under the read lock:
// its slices and maps are the state's own, to be neither kept nor changed.
func grantView(g *fsmpb.Grant) Grant {
	return Grant{
		GrantID: g.GrantId, KeyID: g.KeyId, Name: g.Name, CreationDate: timeOf(g.CreationDate),
		GranteePrincipal: g.GranteePrincipal, RetiringPrincipal: g.RetiringPrincipal,
		IssuingAccount: g.IssuingAccount, Operations: g.Operations,
		ContextEquals: g.ContextEquals, ContextSubset: g.ContextSubset, Token: g.Token,
	}
}

// grantOf is a grant to hand out: a copy.
func grantOf(g *fsmpb.Grant) Grant {
	out := grantView(g)
	out.Operations = slices.Clone(out.Operations)
	out.ContextEquals, out.ContextSubset = maps.Clone(out.ContextEquals), maps.Clone(out.ContextSubset)
	return out
}

// CreateGrantCommand is the payload of CmdCreateGrant for a new grant.
func CreateGrantCommand(g Grant) *fsmpb.CreateGrant {
	return &fsmpb.CreateGrant{Grant: &fsmpb.Grant{
		GrantId: g.GrantID, KeyId: g.KeyID, Name: g.Name, CreationDate: nanosOf(g.CreationDate),
		GranteePrincipal: g.GranteePrincipal, RetiringPrincipal: g.RetiringPrincipal,
		IssuingAccount: g.IssuingAccount, Operations: g.Operations,
		ContextEquals: g.ContextEquals, ContextSubset: g.ContextSubset, Token: g.Token,
	}}
}

func userOf(u *fsmpb.User) User {
	out := User{Name: u.Name, ARN: u.Arn, UserID: u.UserId, CreateDate: timeOf(u.CreateDate)}
	for _, p := range u.Policies {
		out.Policies = append(out.Policies, UserPolicy{Name: p.Name, Document: p.Document})
	}
	return out
}

func accessKeyOf(ak *fsmpb.AccessKey) AccessKey {
	return AccessKey{AccessKeyID: ak.AccessKeyId, SealedSecret: bytes.Clone(ak.SealedSecret),
		PrincipalARN: ak.PrincipalArn, CreateDate: timeOf(ak.CreateDate), UserName: ak.UserName}
}

// CreateUserCommand is the payload of CmdCreateUser for a new user.
func CreateUserCommand(u User) *fsmpb.CreateUser {
	pb := &fsmpb.User{Name: u.Name, Arn: u.ARN, UserId: u.UserID, CreateDate: nanosOf(u.CreateDate)}
	for _, p := range u.Policies {
		pb.Policies = append(pb.Policies, &fsmpb.UserPolicy{Name: p.Name, Document: p.Document})
	}
	return &fsmpb.CreateUser{User: pb}
}
