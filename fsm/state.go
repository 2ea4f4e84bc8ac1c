package fsm

import (
	"slices"
	"sync/atomic"

	"google.golang.org/protobuf/proto"

	"github.com/keyraft/keyraft/fsm/fsmpb"
)

// state is what the commands build. It is only touched under FSM.mu.
type state struct {
	// lastTime is the latest timestamp of the commands applied (clock.go).
	lastTime int64
	init     *fsmpb.Init
	keys     map[string]*fsmpb.Key
	removed  map[string]*fsmpb.RemovePeer
	// voters binds node ids to server identities (BindVoter); remove-peer
	// drops the binding.
	voters  map[string]*fsmpb.Voter
	aliases map[string]*fsmpb.Alias
	// accessKeys indexes every access key by id: the root's from Init and the users'.
	accessKeys map[string]*fsmpb.AccessKey
	users      map[string]*fsmpb.User
	grants     grantIndex
	index      keyIndex

	// captures counts the snapshots taken of this state. A snapshot keeps
	// the key records as they were (captureSnapshot shares them rather
	// than copying 100,000 keys under the lock), so Apply changes a key
	// only in its own copy, made on the first change after each capture:
	// owned holds the copies made since capture ownedGen. Only Apply,
	// under the write lock, touches owned and ownedGen; a capture, under
	// the read lock, only counts.
	captures atomic.Uint64
	owned    map[*fsmpb.Key]struct{}
	ownedGen uint64
}

func newState() *state {
	return &state{
		keys:       map[string]*fsmpb.Key{},
		removed:    map[string]*fsmpb.RemovePeer{},
		voters:     map[string]*fsmpb.Voter{},
		aliases:    map[string]*fsmpb.Alias{},
		accessKeys: map[string]*fsmpb.AccessKey{},
		users:      map[string]*fsmpb.User{},
		grants:     newGrantIndex(),
		index:      newKeyIndex(),
		owned:      map[*fsmpb.Key]struct{}{},
	}
}

// ownKey returns the record of key id (which must exist) for Apply to
// change: the state's own copy if no snapshot captured it since it was
// made, else a new one put in its place.
func (s *state) ownKey(id string) *fsmpb.Key {
	if gen := s.captures.Load(); gen != s.ownedGen {
		s.owned, s.ownedGen = map[*fsmpb.Key]struct{}{}, gen
	}
	k := s.keys[id]
	if _, ok := s.owned[k]; ok {
		return k
	}
	k = clone(k)
	s.keys[id] = k
	s.owned[k] = struct{}{}
	return k
}

// putKey adds a new key, Apply's own until the next capture.
func (s *state) putKey(k *fsmpb.Key) {
	if gen := s.captures.Load(); gen != s.ownedGen {
		s.owned, s.ownedGen = map[*fsmpb.Key]struct{}{}, gen
	}
	internKey(k)
	s.keys[k.KeyId] = k
	s.owned[k] = struct{}{}
	s.index.addKey(k)
}

func (s *state) setInit(in *fsmpb.Init) {
	s.init = in
	if ak := in.GetRootAccessKey(); ak != nil {
		s.accessKeys[ak.AccessKeyId] = ak
		s.index.addAccessKey(ak)
	}
}

// sortedKeyIDs is the stable order used by ListKeys and snapshots.
func (s *state) sortedKeyIDs() []string {
	ids := make([]string, 0, s.index.ids.Len())
	s.index.ids.Ascend(func(id string) bool {
		ids = append(ids, id)
		return true
	})
	return ids
}

func sortedKeys[V any](m map[string]V) []string {
	ids := make([]string, 0, len(m))
	for id := range m {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// clone returns a deep copy so that readers never share memory with Apply.
func clone[T proto.Message](m T) T {
	return proto.Clone(m).(T)
}
