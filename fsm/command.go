package fsm

import (
	"errors"
	"fmt"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/keyraft/keyraft/fsm/fsmpb"
)

// CommandType identifies a command on the wire. Values never change and are
// never reused: add new types at the end, rename retired ones …Deprecated.
type CommandType uint8

const (
	CmdUnknown    CommandType = 0
	CmdInit       CommandType = 1
	CmdCreateKey  CommandType = 2
	CmdRemovePeer CommandType = 3

	CmdUpdateKeyDescription CommandType = 4
	CmdSetKeyEnabled        CommandType = 5
	CmdScheduleKeyDeletion  CommandType = 6
	CmdCancelKeyDeletion    CommandType = 7
	CmdDeleteKey            CommandType = 8
	CmdCreateAlias          CommandType = 9
	CmdUpdateAlias          CommandType = 10
	CmdDeleteAlias          CommandType = 11
	CmdTagResource          CommandType = 12
	CmdUntagResource        CommandType = 13
	CmdSetKeyRotation       CommandType = 14
	CmdRotateKey            CommandType = 15
	CmdAuditBatch           CommandType = 16
	CmdAuditTrim            CommandType = 17

	CmdCreateUser      CommandType = 18
	CmdCreateAccessKey CommandType = 19
	CmdDeleteAccessKey CommandType = 20
	CmdPutUserPolicy   CommandType = 21
	CmdPutKeyPolicy    CommandType = 22
	CmdCreateGrant     CommandType = 23
	CmdRemoveGrant     CommandType = 24

	CmdBindVoter CommandType = 25

	CmdDeleteUser       CommandType = 26
	CmdDeleteUserPolicy CommandType = 27

	CmdImportKeyMaterial         CommandType = 28
	CmdDeleteImportedKeyMaterial CommandType = 29
	CmdRotateImportedKey         CommandType = 30

	CmdRekeyStart    CommandType = 34
	CmdRekeyCancel   CommandType = 35
	CmdRekeyIssue    CommandType = 36
	CmdRekeyCommit   CommandType = 37
	CmdRotateKeyring CommandType = 38
	CmdRotateReseal  CommandType = 39
)

var commandNames = map[CommandType]string{
	CmdInit: "Init", CmdCreateKey: "CreateKey", CmdRemovePeer: "RemovePeer",
	CmdUpdateKeyDescription: "UpdateKeyDescription", CmdSetKeyEnabled: "SetKeyEnabled",
	CmdScheduleKeyDeletion: "ScheduleKeyDeletion", CmdCancelKeyDeletion: "CancelKeyDeletion",
	CmdDeleteKey: "DeleteKey", CmdCreateAlias: "CreateAlias", CmdUpdateAlias: "UpdateAlias",
	CmdDeleteAlias: "DeleteAlias", CmdTagResource: "TagResource", CmdUntagResource: "UntagResource",
	CmdSetKeyRotation: "SetKeyRotation", CmdRotateKey: "RotateKey", CmdAuditBatch: "AuditBatch",
	CmdAuditTrim: "AuditTrim", CmdCreateUser: "CreateUser", CmdCreateAccessKey: "CreateAccessKey",
	CmdDeleteAccessKey: "DeleteAccessKey", CmdPutUserPolicy: "PutUserPolicy", CmdPutKeyPolicy: "PutKeyPolicy",
	CmdCreateGrant: "CreateGrant", CmdRemoveGrant: "RemoveGrant", CmdBindVoter: "BindVoter",
	CmdDeleteUser: "DeleteUser", CmdDeleteUserPolicy: "DeleteUserPolicy",
	CmdImportKeyMaterial: "ImportKeyMaterial", CmdDeleteImportedKeyMaterial: "DeleteImportedKeyMaterial",
	CmdRotateImportedKey: "RotateImportedKey",
	CmdRekeyStart:        "RekeyStart", CmdRekeyCancel: "RekeyCancel", CmdRekeyIssue: "RekeyIssue",
	CmdRekeyCommit: "RekeyCommit", CmdRotateKeyring: "RotateKeyring", CmdRotateReseal: "RotateReseal",
}

func (t CommandType) String() string {
	if n, ok := commandNames[t]; ok {
		return n
	}
	return fmt.Sprintf("CommandType(%d)", uint8(t))
}

// FlagIgnoreUnknown marks a command that a replica which does not know its
// type may skip, so a newer leader cannot stop an older follower.
const FlagIgnoreUnknown uint32 = 1 << 0

// commandVersion is the payload encoding version every type is written with
// today, but for audit batches, which are written deflated (auditBatchDeflated).
const commandVersion = 1

var (
	// ErrMalformedCommand is returned by DecodeCommand for bytes that are not an envelope.
	ErrMalformedCommand = errors.New("malformed command")
)

// NewCommand wraps payload in a versioned envelope stamped with the leader's clock.
func NewCommand(t CommandType, payload proto.Message, now time.Time) ([]byte, error) {
	return NewAuditedCommand(t, payload, now, nil)
}

// NewAuditedCommand is NewCommand carrying the audit event of the request
// that proposes it (see FSM.apply); with a nil event the bytes are exactly
// NewCommand's.
func NewAuditedCommand(t CommandType, payload proto.Message, now time.Time, event []byte) ([]byte, error) {
	body, err := proto.MarshalOptions{Deterministic: true}.Marshal(payload)
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", t, err)
	}
	return envelope(t, commandVersion, now, body, event)
}

// envelope wraps an encoded payload of the given version.
func envelope(t CommandType, version uint32, now time.Time, payload, event []byte) ([]byte, error) {
	return proto.MarshalOptions{Deterministic: true}.Marshal(&fsmpb.Command{
		Type:       uint32(t),
		Version:    version,
		Timestamp:  now.UnixNano(),
		Payload:    payload,
		AuditEvent: event,
	})
}

// DecodeCommand parses an envelope without interpreting its payload.
func DecodeCommand(data []byte) (*fsmpb.Command, error) {
	var c fsmpb.Command
	if err := proto.Unmarshal(data, &c); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformedCommand, err)
	}
	if c.Type == 0 || c.Type > 255 {
		return nil, fmt.Errorf("%w: type %d", ErrMalformedCommand, c.Type)
	}
	return &c, nil
}
