package fsm

import (
	"slices"
	"strings"

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
	internGrant(g)
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

// sortedGrants returns a set's matching grants (all when match is nil) in
// grant id order, uncopied: callers copy what they hand out.
func sortedGrants(set map[string]*fsmpb.Grant, match func(*fsmpb.Grant) bool) []*fsmpb.Grant {
	out := make([]*fsmpb.Grant, 0, len(set))
	for _, g := range set {
		if match == nil || match(g) {
			out = append(out, g)
		}
	}
	slices.SortFunc(out, func(a, b *fsmpb.Grant) int { return strings.Compare(a.GrantId, b.GrantId) })
	return out
}

// GrantPage is one page of a grant listing, in grant id order.
type GrantPage struct {
	Grants    []Grant
	Truncated bool // more grants follow the page's last
}

// pageOf copies the page of at most limit grants of sorted that follows
// the grant id after ("" for the first page). Continuing from an id rather
// than an offset keeps paging right while grants come and go.
func pageOf(sorted []*fsmpb.Grant, after string, limit int) GrantPage {
	start := 0
	if after != "" {
		var found bool
		start, found = slices.BinarySearchFunc(sorted, after, func(g *fsmpb.Grant, id string) int { return strings.Compare(g.GrantId, id) })
		if found {
			start++
		}
	}
	end := min(start+max(limit, 0), len(sorted))
	p := GrantPage{Grants: make([]Grant, 0, end-start), Truncated: end < len(sorted)}
	for _, g := range sorted[start:end] {
		p.Grants = append(p.Grants, grantOf(g))
	}
	return p
}

// viewMatch adapts a match on domain grants to the index's records; nil
// stays nil (every grant matches).
func viewMatch(match func(Grant) bool) func(*fsmpb.Grant) bool {
	if match == nil {
		return nil
	}
	return func(g *fsmpb.Grant) bool { return match(grantView(g)) }
}

// Grant returns one grant.
func (q Query) Grant(id string) (Grant, bool) {
	q.f.mu.RLock()
	defer q.f.mu.RUnlock()
	g, ok := q.f.st.grants.byID[id]
	if !ok {
		return Grant{}, false
	}
	return grantOf(g), true
}

// Grants returns every grant that matches, sorted by grant id. It scans
// them all: requests use the indexed reads (AnyGrant, KeyGrants,
// RetirableGrants) instead.
func (q Query) Grants(match func(Grant) bool) []Grant {
	q.f.mu.RLock()
	defer q.f.mu.RUnlock()
	sorted := sortedGrants(q.f.st.grants.byID, viewMatch(match))
	out := make([]Grant, len(sorted))
	for i, g := range sorted {
		out[i] = grantOf(g)
	}
	return out
}

// AnyGrant reports whether match holds for one of the grants of grantee on
// key keyID. It visits those grants alone, without copying them: match runs
// under the FSM's read lock and must neither keep nor change the slices and
// maps of its argument.
func (q Query) AnyGrant(keyID, grantee string, match func(Grant) bool) bool {
	q.f.mu.RLock()
	defer q.f.mu.RUnlock()
	for _, g := range q.f.st.grants.byGrantee[keyGrantee{keyID, grantee}] {
		if match(grantView(g)) {
			return true
		}
	}
	return false
}

// KeyGrants returns the page after grant id after (see pageOf) of the
// grants on key keyID that match (all when match is nil; match sees the
// grants as AnyGrant's does); with grantee not empty, of that grantee's
// alone.
func (q Query) KeyGrants(keyID, grantee string, match func(Grant) bool, after string, limit int) GrantPage {
	q.f.mu.RLock()
	defer q.f.mu.RUnlock()
	set := q.f.st.grants.byKey[keyID]
	if grantee != "" {
		set = q.f.st.grants.byGrantee[keyGrantee{keyID, grantee}]
	}
	return pageOf(sortedGrants(set, viewMatch(match)), after, limit)
}

// RetirableGrants returns the page after grant id after of the grants that
// name principal as their retiring principal.
func (q Query) RetirableGrants(principal, after string, limit int) GrantPage {
	q.f.mu.RLock()
	defer q.f.mu.RUnlock()
	return pageOf(sortedGrants(q.f.st.grants.byRetiring[principal], nil), after, limit)
}

// KeyGrantCount is the number of grants on key keyID.
func (q Query) KeyGrantCount(keyID string) int {
	q.f.mu.RLock()
	defer q.f.mu.RUnlock()
	return len(q.f.st.grants.byKey[keyID])
}
