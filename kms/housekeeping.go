package kms

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/keyraft/keyraft/fsm"
	"github.com/keyraft/keyraft/fsm/fsmpb"
)

// Housekeeping makes the time-based transitions that Apply, which reads no
// clock, cannot make by itself: it deletes every key whose deletion window
// has ended (the FSM removes its aliases with it), rotates every enabled
// key whose automatic rotation is due, and expires imported key material
// whose ValidTo has passed. The server calls it periodically on
// the leader.
//
// The FSM re-checks each transition against the command's timestamp, so a
// refusal (the key changed state, another pass or an on-demand rotation got
// there first) only means there is nothing left to do and is not an error.
// The first failure to commit, or to make key material, ends the pass and
// is returned; the next pass picks up what this one left.
func (s *Service) Housekeeping(ctx context.Context) error {
	now := s.now()
	for _, k := range s.State.Keys() {
		var err error
		switch {
		case k.KeyState == fsm.StatePendingDeletion && !k.DeletionDate.After(now):
			err = s.proposeRaw(ctx, fsm.CmdDeleteKey, &fsmpb.KeyRef{KeyId: k.KeyID}, now)
		case k.KeyState == fsm.StateEnabled && k.RotationEnabled && !k.NextRotationDate.After(now):
			err = s.rotateDue(ctx, &k, now)
		case k.Origin == fsm.OriginExternal:
			err = s.expireImported(ctx, &k, now)
		}
		if err != nil {
			return fmt.Errorf("housekeeping of key %s: %w", k.KeyID, err)
		}
	}
	s.DropStaleSecrets()
	return nil
}

// rotateDue proposes the automatic rotation of k and moves its schedule one
// period past now (not past the missed date: a leader that was down for
// several periods rotates once, not once per missed period).
func (s *Service) rotateDue(ctx context.Context, k *fsm.Key, now time.Time) error {
	kr, err := s.Keyring()
	if err != nil {
		return err
	}
	period := k.RotationPeriodDays
	if period <= 0 {
		period = defaultRotationPeriodDays
	}
	version := k.CurrentVersion() + 1
	sealed, e := s.newMaterial(kr, k.KeyID, version)
	if e != nil {
		return e
	}
	return s.proposeRaw(ctx, fsm.CmdRotateKey, &fsmpb.RotateKey{
		KeyId:            k.KeyID,
		Material:         &fsmpb.KeyMaterial{Version: version, Sealed: sealed, CreateDate: now.UnixNano(), RotationType: string(fsm.RotationTypeAutomatic)},
		NextRotationDate: now.Add(s.days(period)).UnixNano(),
	}, now)
}

// proposeRaw commits a command and returns only a failure to commit, as the
// cluster gave it: the FSM's refusal of a housekeeping command is not one.
func (s *Service) proposeRaw(ctx context.Context, t fsm.CommandType, payload proto.Message, now time.Time) error {
	cmd, err := fsm.NewCommand(t, payload, now)
	if err != nil {
		return err
	}
	if _, err = s.Propose(ctx, cmd); fsm.Refused(err) {
		return nil
	}
	return err
}

// DropStaleSecrets zeroes the cached material and parsed keys of every
// key that no longer exists and of every material version the state no
// longer holds (imported material deleted or expired), so none outlives
// its deletion in this process. The leader's housekeeping calls it, and
// the server on every node, since a former leader's caches stay filled.
func (s *Service) DropStaleSecrets() { s.dropStale("") }

// dropStale is DropStaleSecrets for the keys whose id starts with prefix.
func (s *Service) dropStale(prefix string) {
	stale := func(path string) bool {
		rest, _ := strings.CutPrefix(path, "key/")
		if !strings.HasPrefix(rest, prefix) {
			return false
		}
		id, v, _ := strings.Cut(rest, "/")
		version, err := strconv.ParseUint(v, 10, 32)
		return err != nil || !s.State.MaterialPresent(id, uint32(version))
	}
	s.cacheMu.Lock()
	defer s.cacheMu.Unlock()
	for path, m := range s.material {
		if stale(path) {
			clear(m)
			delete(s.material, path)
		}
	}
	for path, sk := range s.signers {
		if stale(path) {
			sk.Zero()
			delete(s.signers, path)
		}
	}
}
