package fsm

import (
	"bytes"
	"time"
)

// Query reads the replicated state as this replica has applied it. Every
// read takes the FSM's read lock for itself alone and returns copies in the
// domain types (model.go), so a caller may keep and change what it gets;
// two reads may see different states if a command applied in between.
//
// The reads are local: on a follower, or on a leader that has just been
// deposed, they may be stale. The services answer from them only because
// every request's audit event commits through Raft before its answer goes
// out (kms.Service).
type Query struct{ f *FSM }

// Query returns the read side of f.
func (f *FSM) Query() Query { return Query{f} }

// Initialized reports whether the cluster has been initialised.
func (q Query) Initialized() bool {
	q.f.mu.RLock()
	defer q.f.mu.RUnlock()
	return q.f.st.init != nil
}

// Init returns the initialisation record; false (and the zero record,
// threshold 0) before init.
func (q Query) Init() (InitRecord, bool) {
	q.f.mu.RLock()
	defer q.f.mu.RUnlock()
	in := q.f.st.init
	if in == nil {
		return InitRecord{}, false
	}
	out := InitRecord{Shares: int(in.Shares), Threshold: int(in.Threshold), SealedKeyring: bytes.Clone(in.SealedKeyring),
		KeyringTerm: keyringTerm(in), ClusterID: in.ClusterId}
	for _, u := range in.KeyringUpgrades {
		out.KeyringUpgrades = append(out.KeyringUpgrades, bytes.Clone(u))
	}
	if ak := in.RootAccessKey; ak != nil {
		out.RootAccessKey = accessKeyOf(ak)
	}
	return out, true
}

// Key returns a copy of a key, or nil.
func (q Query) Key(id string) (*Key, bool) {
	q.f.mu.RLock()
	defer q.f.mu.RUnlock()
	k, ok := q.f.st.keys[id]
	if !ok {
		return nil, false
	}
	out := keyOf(k)
	return &out, true
}

// KeyExists reports whether key id exists, without copying it.
func (q Query) KeyExists(id string) bool {
	q.f.mu.RLock()
	defer q.f.mu.RUnlock()
	_, ok := q.f.st.keys[id]
	return ok
}

// MaterialPresent reports whether key id exists and holds the sealed
// material of version (imported material that was deleted or expired is
// gone), without copying the key.
func (q Query) MaterialPresent(id string, version uint32) bool {
	q.f.mu.RLock()
	defer q.f.mu.RUnlock()
	k, ok := q.f.st.keys[id]
	if !ok {
		return false
	}
	m := materialOf(k, version)
	return m != nil && len(m.Sealed) != 0
}

// KeyIDs returns every key id in sorted order.
func (q Query) KeyIDs() []string {
	q.f.mu.RLock()
	defer q.f.mu.RUnlock()
	return q.f.st.sortedKeyIDs()
}

// KeyIDPage returns, in order, at most limit key ids that follow after
// ("" for the first page), and whether more follow: one ListKeys page,
// read from the ordered index (key_index.go) in O(limit + log keys).
// Continuing from an id rather than an offset keeps paging right while
// keys come and go.
func (q Query) KeyIDPage(after string, limit int) ([]string, bool) {
	q.f.mu.RLock()
	defer q.f.mu.RUnlock()
	ids := make([]string, 0, min(max(limit, 0), q.f.st.index.ids.Len()))
	more := false
	q.f.st.index.ids.AscendGreaterOrEqual(after, func(id string) bool {
		if id == after {
			return true
		}
		if len(ids) == limit {
			more = true
			return false
		}
		ids = append(ids, id)
		return true
	})
	return ids, more
}

// DueKeys returns the keys with a time-based transition due at at (its
// time not after at): a deletion window ended, an automatic rotation
// due, imported material expired; earliest first. next is the time of
// the earliest transition still ahead (zero if none). It visits the keys
// it returns and no other, so the leader's housekeeping costs nothing
// more with more keys until some are due.
func (q Query) DueKeys(at time.Time) (due []string, next time.Time) {
	q.f.mu.RLock()
	defer q.f.mu.RUnlock()
	limit := at.UnixNano()
	q.f.st.index.due.Ascend(func(e dueEntry) bool {
		if e.at > limit {
			next = timeOf(e.at)
			return false
		}
		due = append(due, e.keyID)
		return true
	})
	return due, next
}

// MaterialDrops changes whenever key material may have left the state
// (a key deleted, imported material deleted or expired, a snapshot
// restored); a cache of unsealed material needs checking only then. It
// counts for this process alone and means nothing across processes.
func (q Query) MaterialDrops() uint64 { return q.f.drops.Load() }

// Alias returns an alias.
func (q Query) Alias(name string) (Alias, bool) {
	q.f.mu.RLock()
	defer q.f.mu.RUnlock()
	a, ok := q.f.st.aliases[name]
	if !ok {
		return Alias{}, false
	}
	return aliasOf(a), true
}

// Aliases returns every alias, sorted by name.
func (q Query) Aliases() []Alias {
	q.f.mu.RLock()
	defer q.f.mu.RUnlock()
	out := make([]Alias, 0, len(q.f.st.aliases))
	for _, name := range sortedKeys(q.f.st.aliases) {
		out = append(out, aliasOf(q.f.st.aliases[name]))
	}
	return out
}

// AccessKey returns an access key, the root's or a user's.
func (q Query) AccessKey(id string) (AccessKey, bool) {
	q.f.mu.RLock()
	defer q.f.mu.RUnlock()
	ak, ok := q.f.st.accessKeys[id]
	if !ok {
		return AccessKey{}, false
	}
	return accessKeyOf(ak), true
}

// User returns a user.
func (q Query) User(name string) (User, bool) {
	q.f.mu.RLock()
	defer q.f.mu.RUnlock()
	u, ok := q.f.st.users[name]
	if !ok {
		return User{}, false
	}
	return userOf(u), true
}

// Users returns every user, sorted by name.
func (q Query) Users() []User {
	q.f.mu.RLock()
	defer q.f.mu.RUnlock()
	out := make([]User, 0, len(q.f.st.users))
	for _, name := range sortedKeys(q.f.st.users) {
		out = append(out, userOf(q.f.st.users[name]))
	}
	return out
}

// UserPolicyDocuments returns a user's identity policy documents, sorted
// by policy name; none for "" (the account's root) or an unknown user.
func (q Query) UserPolicyDocuments(user string) []string {
	q.f.mu.RLock()
	defer q.f.mu.RUnlock()
	u, ok := q.f.st.users[user]
	if !ok {
		return nil
	}
	docs := make([]string, len(u.Policies))
	for i, p := range u.Policies {
		docs[i] = p.Document
	}
	return docs
}

// UserAccessKeys returns a user's access keys, sorted by id.
func (q Query) UserAccessKeys(user string) []AccessKey {
	q.f.mu.RLock()
	defer q.f.mu.RUnlock()
	var out []AccessKey
	for _, id := range sortedKeys(q.f.st.accessKeys) {
		if ak := q.f.st.accessKeys[id]; ak.UserName == user {
			out = append(out, accessKeyOf(ak))
		}
	}
	return out
}

// VoterIdentity returns the identity bound to a node id, if any.
func (q Query) VoterIdentity(nodeID string) (string, bool) {
	q.f.mu.RLock()
	defer q.f.mu.RUnlock()
	v, ok := q.f.st.voters[nodeID]
	return v.GetIdentity(), ok
}

// RemovedBootNonce returns the boot nonce recorded when a server was
// removed (remove-peer's tombstone), if it was.
func (q Query) RemovedBootNonce(nodeID string) (string, bool) {
	q.f.mu.RLock()
	defer q.f.mu.RUnlock()
	r, ok := q.f.st.removed[nodeID]
	return r.GetBootNonce(), ok
}

// Rekey returns the rekey in progress, if any.
func (q Query) Rekey() (RekeyConfig, bool) {
	q.f.mu.RLock()
	defer q.f.mu.RUnlock()
	if q.f.st.init == nil || q.f.st.init.Rekey == nil {
		return RekeyConfig{}, false
	}
	rk := q.f.st.init.Rekey
	return RekeyConfig{
		Nonce: rk.Nonce, Shares: int(rk.Shares), Threshold: int(rk.Threshold), Verify: rk.Verify,
		Started: timeOf(rk.Started), PendingSealedKeyring: bytes.Clone(rk.PendingSealedKeyring),
		PendingKeyringTerm: rk.PendingKeyringTerm, VerificationNonce: rk.VerificationNonce,
	}, true
}

// StaleSealed returns up to limit values sealed under a keyring term older
// than the newest, in a stable order (key material by key id and version,
// then access keys by id), and how many there are in all. The re-seal after
// a rotation works through them; none left means it is done, so its
// progress is derived from the state and survives a leader change. It
// reads the index of sealed values by term (key_index.go): its cost is
// that of what it returns, whatever the number of keys.
func (q Query) StaleSealed(limit int) ([]SealedRef, int) {
	q.f.mu.RLock()
	defer q.f.mu.RUnlock()
	in := q.f.st.init
	if in == nil {
		return nil, 0
	}
	entries, total := q.f.st.index.stale(keyringTerm(in), limit)
	out := make([]SealedRef, 0, len(entries))
	for _, e := range entries {
		r := SealedRef{Kind: e.kind, ID: e.id, Version: e.version}
		switch e.kind {
		case SealedKeyMaterial:
			r.Sealed = materialOf(q.f.st.keys[e.id], e.version).Sealed
		case SealedPendingImport:
			k := q.f.st.keys[e.id]
			r.ID, r.Sealed = PendingImportRef(e.id, e.materialID), k.Imports[importIndex(k, e.materialID)].SealedPending
		case SealedAccessKey:
			r.Sealed = q.f.st.accessKeys[e.id].SealedSecret
		}
		r.Sealed = bytes.Clone(r.Sealed)
		out = append(out, r)
	}
	return out, total
}
