package fsm

import (
	"slices"

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
	}
}

func (s *state) setInit(in *fsmpb.Init) {
	s.init = in
	if ak := in.GetRootAccessKey(); ak != nil {
		s.accessKeys[ak.AccessKeyId] = ak
	}
}

// sortedKeyIDs is the stable order used by ListKeys and snapshots.
func (s *state) sortedKeyIDs() []string { return sortedKeys(s.keys) }

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
