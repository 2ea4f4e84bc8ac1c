package fsm

import (
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"

	"github.com/hashicorp/raft"
	"google.golang.org/protobuf/proto"

	"github.com/keyraft/keyraft/audit"
	"github.com/keyraft/keyraft/fsm/fsmpb"
	"github.com/keyraft/keyraft/internal/diskspace"
)

// Errors a valid command may be rejected with; Apply returns them, identically
// on every replica.
var (
	ErrAlreadyInitialized = errors.New("cluster is already initialized")
	ErrNotInitialized     = errors.New("cluster is not initialized")
	ErrKeyExists          = errors.New("key already exists")
	ErrInvalidCommand     = errors.New("invalid command")
	ErrKeyNotFound        = errors.New("key not found")
	ErrAliasExists        = errors.New("alias already exists")
	ErrAliasNotFound      = errors.New("alias not found")
	ErrTagLimit           = errors.New("too many tags")
	ErrRotationLimit      = errors.New("too many on-demand rotations")
	ErrNotDue             = errors.New("not due")
	ErrUserExists         = errors.New("user already exists")
	ErrUserNotFound       = errors.New("user not found")
	ErrAccessKeyNotFound  = errors.New("access key not found")
	ErrAccessKeyLimit     = errors.New("too many access keys")
	// ErrUserHasEntities: a user is deleted only once its access keys and
	// policies are (IAM's DeleteConflict).
	ErrUserHasEntities    = errors.New("user still has access keys or policies")
	ErrUserPolicyNotFound = errors.New("user policy not found")
	ErrGrantNotFound      = errors.New("grant not found")
	ErrGrantLimit         = errors.New("too many grants on the key")
	// ErrIncorrectKeyMaterial: material other than the key's was imported
	// where only its own may be (AWS's IncorrectKeyMaterialException).
	ErrIncorrectKeyMaterial = errors.New("incorrect key material")
	// ErrImportNotExternal: an import command for a key whose origin is not EXTERNAL.
	ErrImportNotExternal = errors.New("key origin is not EXTERNAL")
	// ErrMaterialNotFound: no import record has the command's key material id.
	ErrMaterialNotFound = errors.New("key material not found")
	// ErrPendingRotation: new material already awaits rotation, or none does.
	ErrPendingRotation = errors.New("key material pending rotation")
)

// ErrVoterBound: a node id is bound to another server's identity until
// remove-peer frees it.
var ErrVoterBound = errors.New("node id is bound to another server identity")

// KeyStateError refuses an operation the key's state does not allow.
type KeyStateError struct {
	KeyID string
	State KeyState
}

func (e *KeyStateError) Error() string { return "key " + e.KeyID + " is " + e.State.String() }

var (
	_ raft.FSM         = (*FSM)(nil)
	_ raft.BatchingFSM = (*FSM)(nil)
)

// FSM is keyraft's replicated state machine.
type FSM struct {
	mu    sync.RWMutex // guards st and index against Apply/Restore vs readers
	st    *state
	index uint64 // last applied log index

	// audit is the on-disk audit log, the FSM's own store; nil when the
	// caller needs no audit (unit tests of other commands).
	audit *audit.Store

	// lastTime mirrors st.lastTime for readers that must not wait for
	// Apply's lock (the cluster clock reads it on every request).
	lastTime atomic.Int64

	// stall is set while Apply waits for disk space (nospace.go).
	stall stall

	// changed are the keys the command being applied took out of the
	// key index to change (keyToChange); reindexChanged puts them back.
	changed []string

	// drops counts the commands that removed key material from the
	// state (a key deleted, imported material deleted or expired) and the
	// restores, which may have: what a node caches of material is
	// checked against the state again only when it moves
	// (kms.Service.DropStaleSecrets). It is this process's, not
	// replicated.
	drops atomic.Uint64

	// onKeyring, when set, is told the keyring upgrade records after
	// every command or restore that may have changed them (apply_keyring.go).
	onKeyring func(upgrades [][]byte)
}

// New returns an empty state machine appending audit events to store.
func New(store *audit.Store) *FSM {
	return &FSM{st: newState(), audit: store}
}

// Apply runs one committed log entry. Entries that are not keyraft commands
// panic: a replica must stop rather than diverge. A valid command that is
// refused returns the refusal as its result, the same on every replica.
func (f *FSM) Apply(l *raft.Log) any {
	if l.Type != raft.LogCommand {
		return nil
	}
	cmd, err := DecodeCommand(l.Data)
	if err != nil {
		panic(fmt.Sprintf("fsm: index %d: %v", l.Index, err))
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.index = l.Index
	return f.apply(cmd, l.Index)
}

// ApplyBatch applies a run of committed entries. Consecutive audit batches
// go to the audit store in one transaction, which is where a busy leader
// spends its apply time; everything else is applied one by one, in order.
func (f *FSM) ApplyBatch(logs []*raft.Log) []any {
	out := make([]any, len(logs))
	f.mu.Lock()
	defer f.mu.Unlock()
	var run []audit.Batch
	var runAt []int
	var releases []func()
	flush := func() {
		if len(run) == 0 {
			return
		}
		var firsts []uint64
		f.untilWritten(func() (err error) {
			firsts, err = f.audit.AppendBatches(run)
			return err
		})
		for i, at := range runAt {
			out[at] = firsts[i]
		}
		run, runAt = run[:0], runAt[:0]
		for _, release := range releases {
			release() // the store has copied the events
		}
		releases = releases[:0]
	}
	for i, l := range logs {
		if l.Type != raft.LogCommand {
			continue
		}
		if f.audit != nil {
			if events, release, ok := auditBatchEvents(l.Data); ok {
				if release != nil {
					releases = append(releases, release)
				}
				f.index = l.Index
				f.noteUsage(events)
				run = append(run, audit.Batch{Index: l.Index, Events: events})
				runAt = append(runAt, i)
				continue
			}
		}
		cmd, err := DecodeCommand(l.Data)
		if err != nil {
			panic(fmt.Sprintf("fsm: index %d: %v", l.Index, err))
		}
		f.index = l.Index
		if CommandType(cmd.Type) == CmdAuditBatch && f.audit != nil {
			var c fsmpb.AuditBatch
			decodePayload(cmd, &c)
			f.noteUsage(c.Events)
			run = append(run, audit.Batch{Index: l.Index, Events: c.Events})
			runAt = append(runAt, i)
			continue
		}
		flush()
		out[i] = f.apply(cmd, l.Index)
	}
	flush()
	return out
}

// apply runs one command and, when it carries its request's audit event
// and changed state, records the event at the same index: the change and
// its event are one entry, so neither commits without the other. A refused
// command records nothing; its request is audited on its own. The answer
// is what Apply returns (see ResultOf): the refusal, an audit sequence
// number, or nil.
func (f *FSM) apply(cmd *fsmpb.Command, index uint64) any {
	f.observeTime(cmd)
	var res any
	switch CommandType(cmd.Type) {
	case CmdAuditBatch:
		res = f.applyAuditBatch(cmd, index)
	case CmdAuditTrim:
		res = f.applyAuditTrim(cmd, index)
	default:
		err := f.dispatch(cmd, index)
		f.reindexChanged()
		if err != nil {
			return err
		}
	}
	if len(cmd.AuditEvent) == 0 || f.audit == nil {
		return res
	}
	f.untilWritten(func() error {
		_, err := f.audit.Append(index, [][]byte{cmd.AuditEvent})
		return err
	})
	return res
}

// dispatch routes a state command to its handler and returns its refusal.
func (f *FSM) dispatch(cmd *fsmpb.Command, index uint64) error {
	t := CommandType(cmd.Type)
	switch t {
	case CmdInit:
		return f.applyInit(cmd)
	case CmdCreateKey:
		return f.applyCreateKey(cmd)
	case CmdRemovePeer:
		return f.applyRemovePeer(cmd)
	case CmdUpdateKeyDescription:
		return f.applyUpdateKeyDescription(cmd)
	case CmdSetKeyEnabled:
		return f.applySetKeyEnabled(cmd)
	case CmdScheduleKeyDeletion:
		return f.applyScheduleKeyDeletion(cmd)
	case CmdCancelKeyDeletion:
		return f.applyCancelKeyDeletion(cmd)
	case CmdDeleteKey:
		return f.applyDeleteKey(cmd)
	case CmdCreateAlias:
		return f.applyCreateAlias(cmd)
	case CmdUpdateAlias:
		return f.applyUpdateAlias(cmd)
	case CmdDeleteAlias:
		return f.applyDeleteAlias(cmd)
	case CmdTagResource:
		return f.applyTagResource(cmd)
	case CmdUntagResource:
		return f.applyUntagResource(cmd)
	case CmdSetKeyRotation:
		return f.applySetKeyRotation(cmd)
	case CmdRotateKey:
		return f.applyRotateKey(cmd)
	case CmdCreateUser:
		return f.applyCreateUser(cmd)
	case CmdCreateAccessKey:
		return f.applyCreateAccessKey(cmd)
	case CmdDeleteAccessKey:
		return f.applyDeleteAccessKey(cmd)
	case CmdPutUserPolicy:
		return f.applyPutUserPolicy(cmd)
	case CmdDeleteUser:
		return f.applyDeleteUser(cmd)
	case CmdDeleteUserPolicy:
		return f.applyDeleteUserPolicy(cmd)
	case CmdPutKeyPolicy:
		return f.applyPutKeyPolicy(cmd)
	case CmdCreateGrant:
		return f.applyCreateGrant(cmd)
	case CmdRemoveGrant:
		return f.applyRemoveGrant(cmd)
	case CmdBindVoter:
		return f.applyBindVoter(cmd)
	case CmdImportKeyMaterial:
		return f.applyImportKeyMaterial(cmd)
	case CmdDeleteImportedKeyMaterial:
		return f.applyDeleteImportedKeyMaterial(cmd)
	case CmdRotateImportedKey:
		return f.applyRotateImportedKey(cmd)
	case CmdRekeyStart:
		return f.applyRekeyStart(cmd)
	case CmdRekeyCancel:
		return f.applyRekeyCancel(cmd)
	case CmdRekeyIssue:
		return f.applyRekeyIssue(cmd)
	case CmdRekeyCommit:
		return f.applyRekeyCommit(cmd)
	case CmdRotateKeyring:
		return f.applyRotateKeyring(cmd)
	case CmdRotateReseal:
		return f.applyRotateReseal(cmd)
	}
	if cmd.Flags&FlagIgnoreUnknown != 0 {
		return nil
	}
	panic(fmt.Sprintf("fsm: index %d: unknown command %s", index, t))
}

// decodePayload unmarshals a command payload; a payload that does not decode
// is a corrupt log, which must stop the replica.
func decodePayload(cmd *fsmpb.Command, m proto.Message) {
	payload := cmd.Payload
	switch {
	case cmd.Version == commandVersion:
	case cmd.Version == auditBatchDeflated && CommandType(cmd.Type) == CmdAuditBatch:
		var err error
		var release func()
		if payload, release, err = inflate(payload, maxInflatedBatch); err != nil {
			panic(fmt.Sprintf("fsm: %s: %v", CommandType(cmd.Type), err))
		}
		defer release() // proto.Unmarshal copies what it keeps
	default:
		panic(fmt.Sprintf("fsm: %s: unsupported payload version %d", CommandType(cmd.Type), cmd.Version))
	}
	if err := proto.Unmarshal(payload, m); err != nil {
		panic(fmt.Sprintf("fsm: %s: %v", CommandType(cmd.Type), err))
	}
}

// Audit is the audit store (nil when the FSM runs without one).
func (f *FSM) Audit() *audit.Store { return f.audit }

// AppliedIndex is the index of the last entry this FSM applied.
func (f *FSM) AppliedIndex() uint64 {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.index
}

// Snapshot captures the state; Persist does the I/O. The audit log is read
// through a store transaction opened here, so Apply may go on meanwhile.
func (f *FSM) Snapshot() (raft.FSMSnapshot, error) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	s := captureSnapshot(f.st, f.index)
	if f.audit != nil {
		v, err := f.audit.View()
		if err != nil {
			return nil, err
		}
		s.audit = v
	}
	return s, nil
}

// Restore replaces the whole state with the snapshot's.
//
// A restore that runs out of disk space raises the NOSPACE alarm and fails;
// Raft logs it and the leader sends the snapshot again. The next attempt
// first lets the store write again (audit.Store.Recover).
func (f *FSM) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	if f.audit != nil {
		_ = f.audit.Recover() // a store failed otherwise stays so, and the restore says why
	}
	st, index, err := readSnapshot(rc, f.audit)
	if diskspace.IsNoSpace(err) {
		f.stall.set(err)
		return err
	}
	if err != nil {
		return err
	}
	f.stall.clear()
	f.mu.Lock()
	f.st, f.index = st, index
	f.drops.Add(1)
	f.lastTime.Store(st.lastTime)
	f.keyringChangedLocked()
	f.mu.Unlock()
	return nil
}
