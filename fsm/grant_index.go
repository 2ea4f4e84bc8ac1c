package fsm

import (
	"slices"

	"github.com/keyraft/keyraft/fsm/fsmpb"
)

// MaxGrantsPerKey is AWS KMS's quota of grants on one key.
const MaxGrantsPerKey = 50000

// grantIndex holds the grants by id and indexes them by what the reads ask
// for: the grant check (a key and a grantee), ListGrants (a key) and
// ListRetirableGrants (a retiring principal). None of them scans the
// cluster's grants, so a check costs the same with 10 grants as with
// millions (TestGrantCheckVisitsOnlyTheCallersGrants). The index is derived
// state: snapshots hold the grants alone and Restore rebuilds it.
type grantIndex struct {
	byID       map[string]*fsmpb.Grant
	byKey      map[string]map[string]*fsmpb.Grant // key id → grant id → grant
	byGrantee  map[keyGrantee]map[string]*fsmpb.Grant
	byRetiring map[string]map[string]*fsmpb.Grant // retiring principal → grant id → grant
}

type keyGrantee struct{ keyID, grantee string }

func newGrantIndex() grantIndex {
	return grantIndex{
		byID:       map[string]*fsmpb.Grant{},
		byKey:      map[string]map[string]*fsmpb.Grant{},
		byGrantee:  map[keyGrantee]map[string]*fsmpb.Grant{},
		byRetiring: map[string]map[string]*fsmpb.Grant{},
	}
}

func (x *grantIndex) add(g *fsmpb.Grant) {
	if old, ok := x.byID[g.GrantId]; ok {
		x.remove(old)
	}
	x.byID[g.GrantId] = g
	addTo(x.byKey, g.KeyId, g)
	addTo(x.byGrantee, keyGrantee{g.KeyId, g.GranteePrincipal}, g)
	if g.RetiringPrincipal != "" {
		addTo(x.byRetiring, g.RetiringPrincipal, g)
	}
}

func (x *grantIndex) remove(g *fsmpb.Grant) {
	delete(x.byID, g.GrantId)
	removeFrom(x.byKey, g.KeyId, g.GrantId)
	removeFrom(x.byGrantee, keyGrantee{g.KeyId, g.GranteePrincipal}, g.GrantId)
	if g.RetiringPrincipal != "" {
		removeFrom(x.byRetiring, g.RetiringPrincipal, g.GrantId)
	}
}

// removeKey drops every grant of a deleted key.
func (x *grantIndex) removeKey(keyID string) {
	for _, g := range x.byKey[keyID] {
		x.remove(g)
	}
}

func addTo[K comparable](m map[K]map[string]*fsmpb.Grant, k K, g *fsmpb.Grant) {
	set, ok := m[k]
	if !ok {
		set = map[string]*fsmpb.Grant{}
		m[k] = set
	}
	set[g.GrantId] = g
}

// removeFrom drops a grant and, with its last grant, the set itself, so
// that the index holds nothing for keys and principals that have no grant.
func removeFrom[K comparable](m map[K]map[string]*fsmpb.Grant, k K, id string) {
	set := m[k]
	delete(set, id)
	if len(set) == 0 {
		delete(m, k)
	}
}

// sortedGrants copies a set's matching grants in grant id order.
func sortedGrants(set map[string]*fsmpb.Grant, match func(*fsmpb.Grant) bool) []*fsmpb.Grant {
	out := make([]*fsmpb.Grant, 0, len(set))
	for _, g := range set {
		if match == nil || match(g) {
			out = append(out, g)
		}
	}
	slices.SortFunc(out, func(a, b *fsmpb.Grant) int {
		switch {
		case a.GrantId < b.GrantId:
			return -1
		case a.GrantId > b.GrantId:
			return 1
		}
		return 0
	})
	for i, g := range out {
		out[i] = clone(g)
	}
	return out
}

// AnyGrant reports whether match holds for one of the grants of grantee on
// key keyID. It visits those grants alone, without copying them: match runs
// under the FSM's read lock and must neither keep nor change its argument.
func (f *FSM) AnyGrant(keyID, grantee string, match func(*fsmpb.Grant) bool) bool {
	f.mu.RLock()
	defer f.mu.RUnlock()
	for _, g := range f.st.grants.byGrantee[keyGrantee{keyID, grantee}] {
		if match(g) {
			return true
		}
	}
	return false
}

// KeyGrants returns the grants on key keyID that match (all when match is
// nil), sorted by grant id; with grantee not empty, only that grantee's.
func (f *FSM) KeyGrants(keyID, grantee string, match func(*fsmpb.Grant) bool) []*fsmpb.Grant {
	f.mu.RLock()
	defer f.mu.RUnlock()
	if grantee != "" {
		return sortedGrants(f.st.grants.byGrantee[keyGrantee{keyID, grantee}], match)
	}
	return sortedGrants(f.st.grants.byKey[keyID], match)
}

// RetirableGrants returns the grants that name principal as their retiring
// principal, sorted by grant id.
func (f *FSM) RetirableGrants(principal string) []*fsmpb.Grant {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return sortedGrants(f.st.grants.byRetiring[principal], nil)
}

// KeyGrantCount is the number of grants on key keyID.
func (f *FSM) KeyGrantCount(keyID string) int {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return len(f.st.grants.byKey[keyID])
}
