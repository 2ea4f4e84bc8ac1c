package fsm

import (
	"cmp"
	"slices"
	"strings"

	"github.com/google/btree"

	"github.com/keyraft/keyraft/fsm/fsmpb"
	"github.com/keyraft/keyraft/seal"
)

// keyIndex orders the keys for the reads that would otherwise visit them
// all: ListKeys and snapshots (every key id, in order), the leader's
// housekeeping (the keys by the time of their next time-based
// transition) and the re-seal after a keyring rotation (every sealed
// value by the term it is sealed under). With 100,000 keys, sorting the
// ids took 30–140 ms per ListKeys page and the housekeeping pass cloned
// every key every 10 s (docs/performance.md, "Scale"); now each reads
// what it returns.
//
// Like the grant index it is derived state, in no snapshot: Apply keeps it
// (keyToChange takes a key out, reindexChanged puts it back once the
// command is done) and Restore rebuilds it from the records.
type keyIndex struct {
	ids *btree.BTreeG[string]
	due *btree.BTreeG[dueEntry]
	// sealed: term → the values sealed under it, in StaleSealed's order.
	sealed map[uint32]*btree.BTreeG[sealedEntry]
}

// btreeDegree suits sets of 10^3 to 10^6 short items (google/btree's
// own advice is 32 for in-memory sets).
const btreeDegree = 32

func newKeyIndex() keyIndex {
	return keyIndex{
		ids:    btree.NewOrderedG[string](btreeDegree),
		due:    btree.NewG(btreeDegree, dueLess),
		sealed: map[uint32]*btree.BTreeG[sealedEntry]{},
	}
}

// dueEntry is a key whose next time-based transition is at at (Unix ns).
type dueEntry struct {
	at    int64
	keyID string
}

func dueLess(a, b dueEntry) bool {
	if a.at != b.at {
		return a.at < b.at
	}
	return a.keyID < b.keyID
}

// dueAt is the time of k's next transition that only the leader's
// housekeeping makes (kms.Service.Housekeeping): the end of its deletion
// window while PendingDeletion, its next automatic rotation while
// Enabled with rotation on, the expiry of any of its imported materials.
// A key with none of these is not in the index.
func dueAt(k *fsmpb.Key) (int64, bool) {
	var at int64
	var ok bool
	consider := func(t int64) {
		if !ok || t < at {
			at, ok = t, true
		}
	}
	switch KeyState(k.KeyState) {
	case StatePendingDeletion:
		consider(k.DeletionDate)
	case StateEnabled:
		if k.RotationEnabled {
			consider(k.NextRotationDate)
		}
	}
	if k.Origin == OriginExternal {
		for _, r := range k.Imports {
			if r.Imported && r.ValidTo != 0 {
				consider(r.ValidTo)
			}
		}
	}
	return at, ok
}

// sealedEntry names one sealed value: a key's material version, its
// material awaiting rotation, or an access key's secret. The order is
// StaleSealed's: key values by key id (material by version, then the
// material awaiting rotation), then access keys by id.
type sealedEntry struct {
	kind       uint32 // SealedKeyMaterial, SealedPendingImport or SealedAccessKey
	id         string // the key's or the access key's id
	version    uint32 // SealedKeyMaterial's version
	materialID string // SealedPendingImport's key material id
}

func compareSealed(a, b sealedEntry) int {
	return cmp.Or(
		cmp.Compare(sealedGroup(a), sealedGroup(b)),
		strings.Compare(a.id, b.id),
		cmp.Compare(sealedRank(a), sealedRank(b)),
		cmp.Compare(a.version, b.version),
		strings.Compare(a.materialID, b.materialID))
}

func sealedLess(a, b sealedEntry) bool { return compareSealed(a, b) < 0 }

// sealedGroup puts the keys' values before the access keys'.
func sealedGroup(e sealedEntry) int {
	if e.kind == SealedAccessKey {
		return 1
	}
	return 0
}

// sealedRank puts a key's material versions before its material awaiting rotation.
func sealedRank(e sealedEntry) int {
	if e.kind == SealedPendingImport {
		return 1
	}
	return 0
}

// keySealed calls fn with every sealed value of k and its term; a value
// without a term (imported material deleted or expired) is none.
func keySealed(k *fsmpb.Key, fn func(term uint32, e sealedEntry)) {
	for _, m := range k.Material {
		if t, ok := seal.ValueTerm(m.Sealed); ok {
			fn(t, sealedEntry{kind: SealedKeyMaterial, id: k.KeyId, version: m.Version})
		}
	}
	for _, r := range k.Imports {
		if r.Version != 0 {
			continue
		}
		if t, ok := seal.ValueTerm(r.SealedPending); ok {
			fn(t, sealedEntry{kind: SealedPendingImport, id: k.KeyId, materialID: r.KeyMaterialId})
		}
	}
}

func (x *keyIndex) addKey(k *fsmpb.Key) {
	x.ids.ReplaceOrInsert(k.KeyId)
	if at, ok := dueAt(k); ok {
		x.due.ReplaceOrInsert(dueEntry{at, k.KeyId})
	}
	keySealed(k, x.addSealed)
}

// removeKey takes k out, as the index holds it: it must be called before
// k changes.
func (x *keyIndex) removeKey(k *fsmpb.Key) {
	x.ids.Delete(k.KeyId)
	if at, ok := dueAt(k); ok {
		x.due.Delete(dueEntry{at, k.KeyId})
	}
	keySealed(k, x.removeSealed)
}

func (x *keyIndex) addAccessKey(ak *fsmpb.AccessKey) {
	if t, ok := seal.ValueTerm(ak.SealedSecret); ok {
		x.addSealed(t, sealedEntry{kind: SealedAccessKey, id: ak.AccessKeyId})
	}
}

func (x *keyIndex) removeAccessKey(ak *fsmpb.AccessKey) {
	if t, ok := seal.ValueTerm(ak.SealedSecret); ok {
		x.removeSealed(t, sealedEntry{kind: SealedAccessKey, id: ak.AccessKeyId})
	}
}

func (x *keyIndex) addSealed(term uint32, e sealedEntry) {
	set, ok := x.sealed[term]
	if !ok {
		set = btree.NewG(btreeDegree, sealedLess)
		x.sealed[term] = set
	}
	set.ReplaceOrInsert(e)
}

func (x *keyIndex) removeSealed(term uint32, e sealedEntry) {
	set := x.sealed[term]
	if set == nil {
		return
	}
	set.Delete(e)
	if set.Len() == 0 {
		delete(x.sealed, term)
	}
}

// stale returns the first limit values sealed under a term older than
// newest, in sealedLess order, and how many there are in all. It visits
// the terms (a handful) and the values it returns, nothing else.
func (x *keyIndex) stale(newest uint32, limit int) ([]sealedEntry, int) {
	total := 0
	var out []sealedEntry
	for term, set := range x.sealed {
		if term >= newest {
			continue
		}
		total += set.Len()
		n := 0
		set.Ascend(func(e sealedEntry) bool {
			if n >= limit {
				return false
			}
			out = append(out, e)
			n++
			return true
		})
	}
	// Each term gave its first limit values; the first limit of their
	// union are among them.
	slices.SortFunc(out, compareSealed)
	return out[:min(len(out), limit)], total
}

// keyToChange is key for a command that changes the key: it returns
// Apply's own copy of the record (ownKey), taken out of the index until
// the command is done (reindexChanged), so that whatever the command
// changes, the index follows.
func (f *FSM) keyToChange(id string, allowed ...KeyState) (*fsmpb.Key, error) {
	if _, err := f.key(id, allowed...); err != nil {
		return nil, err
	}
	k := f.st.ownKey(id)
	f.st.index.removeKey(k)
	f.changed = append(f.changed, id)
	return k, nil
}

// reindexChanged puts back into the index the keys keyToChange took out,
// as they are now: a deleted key stays out.
func (f *FSM) reindexChanged() {
	for _, id := range f.changed {
		if k, ok := f.st.keys[id]; ok && !f.st.index.ids.Has(id) {
			f.st.index.addKey(k)
		}
	}
	f.changed = f.changed[:0]
}
