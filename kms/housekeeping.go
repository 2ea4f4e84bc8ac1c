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
//
// A pass reads only the keys the FSM's index says are due
// (fsm.Query.DueKeys): with 100,000 keys, walking them all cost 0.4 s
// every 10 s on the leader (docs/performance.md, "Scale").
func (s *Service) Housekeeping(ctx context.Context) error {
	now := s.now()
	due, _ := s.State.DueKeys(now)
	for _, id := range due {
		k, ok := s.State.Key(id)
		if !ok {
			continue // deleted since
		}
		var err error
		switch {
		case k.KeyState == fsm.StatePendingDeletion && !k.DeletionDate.After(now):
			err = s.proposeRaw(ctx, fsm.CmdDeleteKey, &fsmpb.KeyRef{KeyId: k.KeyID}, now)
		case k.KeyState == fsm.StateEnabled && k.RotationEnabled && !k.NextRotationDate.After(now):
			err = s.rotateDue(ctx, k, now)
		case k.Origin == fsm.OriginExternal:
			err = s.expireImported(ctx, k, now)
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
//
// It walks the caches only when material may have left the state since
// its last walk (fsm.Query.MaterialDrops); otherwise it checks only the
// entries cached since, which a request may have filled from a copy of
// the key read before its deletion. Walking every cached key every 10 s
// would cost more with more keys in use, whether or not any was deleted.
func (s *Service) DropStaleSecrets() {
	drops := s.State.MaterialDrops()
	s.cacheMu.Lock()
	defer s.cacheMu.Unlock()
	if drops == s.dropsSeen {
		for _, path := range s.cachedSince {
			s.dropIfStaleLocked(path)
		}
	} else {
		s.dropStaleLocked("")
	}
	s.dropsSeen, s.cachedSince = drops, s.cachedSince[:0]
}

// dropStale is DropStaleSecrets for the keys whose id starts with prefix,
// whatever the state did since.
func (s *Service) dropStale(prefix string) {
	s.cacheMu.Lock()
	defer s.cacheMu.Unlock()
	s.dropStaleLocked(prefix)
}

func (s *Service) dropStaleLocked(prefix string) {
	for path := range s.material {
		if strings.HasPrefix(strings.TrimPrefix(path, "key/"), prefix) {
			s.dropIfStaleLocked(path)
		}
	}
	for path := range s.signers {
		if strings.HasPrefix(strings.TrimPrefix(path, "key/"), prefix) {
			s.dropIfStaleLocked(path)
		}
	}
}

// dropIfStaleLocked zeroes and forgets what is cached at a material path
// ("key/<id>/<version>") if the state no longer holds that material.
func (s *Service) dropIfStaleLocked(path string) {
	id, v, _ := strings.Cut(strings.TrimPrefix(path, "key/"), "/")
	version, err := strconv.ParseUint(v, 10, 32)
	if err == nil && s.State.MaterialPresent(id, uint32(version)) {
		return
	}
	if m, ok := s.material[path]; ok {
		clear(m)
		delete(s.material, path)
	}
	if sk, ok := s.signers[path]; ok {
		sk.Zero()
		delete(s.signers, path)
	}
}
