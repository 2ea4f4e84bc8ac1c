package fsm

import (
	"bytes"
	"fmt"
	"io"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	"google.golang.org/protobuf/proto"

	"github.com/keyraft/keyraft/fsm/fsmpb"
	"github.com/keyraft/keyraft/seal"
)

// indexDump is a key index as plain values, to compare two of them.
type indexDump struct {
	IDs    []string
	Due    []dueEntry
	Sealed map[uint32][]sealedEntry
}

func dumpIndex(x *keyIndex) indexDump {
	d := indexDump{Sealed: map[uint32][]sealedEntry{}}
	x.ids.Ascend(func(id string) bool { d.IDs = append(d.IDs, id); return true })
	x.due.Ascend(func(e dueEntry) bool { d.Due = append(d.Due, e); return true })
	for term, set := range x.sealed {
		set.Ascend(func(e sealedEntry) bool { d.Sealed[term] = append(d.Sealed[term], e); return true })
	}
	return d
}

// rebuiltIndex is the index built afresh from the state's records, as
// Restore builds it.
func rebuiltIndex(st *state) indexDump {
	x := newKeyIndex()
	for _, k := range st.keys {
		x.addKey(k)
	}
	for _, ak := range st.accessKeys {
		x.addAccessKey(ak)
	}
	return dumpIndex(&x)
}

// checkIndex fails unless the index Apply kept is the one the state's
// records give.
func checkIndex(t *testing.T, f *FSM, after string) {
	t.Helper()
	f.mu.RLock()
	defer f.mu.RUnlock()
	got, want := dumpIndex(&f.st.index), rebuiltIndex(f.st)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("after %s the key index is\n%+v\nbut the state gives\n%+v", after, got, want)
	}
}

// indexedFSM applies commands one at a time and checks the index after each.
type indexedFSM struct {
	t     *testing.T
	f     *FSM
	index uint64
	log   [][]byte
}

func (x *indexedFSM) apply(ct CommandType, p proto.Message, at time.Time) error {
	x.t.Helper()
	data, err := NewCommand(ct, p, at)
	if err != nil {
		x.t.Fatal(err)
	}
	return x.applyData(data)
}

func (x *indexedFSM) applyData(data []byte) error {
	x.t.Helper()
	x.index++
	x.log = append(x.log, data)
	_, err := ResultOf(x.f.Apply(&raft.Log{Index: x.index, Type: raft.LogCommand, Data: data}))
	cmd, _ := DecodeCommand(data)
	checkIndex(x.t, x.f, fmt.Sprintf("entry %d (%s, %v)", x.index, CommandType(cmd.Type), err))
	return err
}

func (x *indexedFSM) must(ct CommandType, p proto.Message, at time.Time) {
	x.t.Helper()
	if err := x.apply(ct, p, at); err != nil {
		x.t.Fatalf("%s: %v", ct, err)
	}
}

func (x *indexedFSM) due(at time.Time) ([]string, time.Time) { return x.f.Query().DueKeys(at) }

// TestKeyIndexFollowsEveryCommand applies the determinism test's log,
// refusals included, checking after each entry that the index Apply keeps
// is the one its records give.
func TestKeyIndexFollowsEveryCommand(t *testing.T) {
	x := &indexedFSM{t: t, f: newFSM(t)}
	for _, data := range commandLog(t) {
		_ = x.applyData(data)
	}
}

// initWithKeys is an initialised FSM whose root access key and keys (in
// the order given) are all sealed under keyring term 1.
func initWithKeys(t *testing.T, t0 time.Time, ids ...string) *indexedFSM {
	t.Helper()
	x := &indexedFSM{t: t, f: newFSM(t)}
	x.must(CmdInit, &fsmpb.Init{Shares: 1, Threshold: 1, SealedKeyring: []byte("kr"),
		RootAccessKey: &fsmpb.AccessKey{AccessKeyId: "AKIAROOT", SealedSecret: sealedUnder(1, 40)}}, t0)
	for _, id := range ids {
		k := testKey(id, t0.UnixNano())
		k.Material[0].Sealed = sealedUnder(1, 60)
		x.must(CmdCreateKey, &fsmpb.CreateKey{Key: k}, t0)
	}
	return x
}

// TestDueKeys: deletion, cancellation, rotation on and off, enabling and
// disabling, imports, re-imports and expiry move a key in and out of
// DueKeys at the right time, and a restored replica's index is the same.
func TestDueKeys(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0).UTC()
	day := 24 * time.Hour
	x := initWithKeys(t, t0, "a", "b", "c")
	want := func(at time.Time, ids []string, next time.Time) {
		t.Helper()
		got, gotNext := x.due(at)
		if !slices.Equal(got, ids) || !gotNext.Equal(next) {
			t.Fatalf("DueKeys(t0+%s) = %v, next t0+%s; want %v, next t0+%s", at.Sub(t0), got, gotNext.Sub(t0), ids, next.Sub(t0))
		}
	}
	want(t0.Add(1000*day), nil, time.Time{})

	// Deletion: due when the window ends, gone when cancelled or done.
	x.must(CmdScheduleKeyDeletion, &fsmpb.ScheduleKeyDeletion{KeyId: "a", DeletionDate: t0.Add(7 * day).UnixNano(), PendingWindowDays: 7}, t0)
	want(t0.Add(7*day-1), nil, t0.Add(7*day))
	want(t0.Add(7*day), []string{"a"}, time.Time{})
	x.must(CmdCancelKeyDeletion, &fsmpb.KeyRef{KeyId: "a"}, t0)
	want(t0.Add(1000*day), nil, time.Time{})
	x.must(CmdScheduleKeyDeletion, &fsmpb.ScheduleKeyDeletion{KeyId: "a", DeletionDate: t0.Add(7 * day).UnixNano(), PendingWindowDays: 7}, t0)
	if err := x.apply(CmdDeleteKey, &fsmpb.KeyRef{KeyId: "a"}, t0.Add(day)); err == nil {
		t.Fatal("deleted before its window ended")
	}
	want(t0.Add(7*day), []string{"a"}, time.Time{})
	x.must(CmdDeleteKey, &fsmpb.KeyRef{KeyId: "a"}, t0.Add(7*day))
	want(t0.Add(1000*day), nil, time.Time{})

	// Rotation: due at its date while enabled, moved on by the rotation,
	// out while the key is disabled or rotation is off.
	x.must(CmdSetKeyRotation, &fsmpb.SetKeyRotation{KeyId: "b", Enabled: true, RotationPeriodDays: 90, NextRotationDate: t0.Add(90 * day).UnixNano()}, t0)
	want(t0.Add(89*day), nil, t0.Add(90*day))
	want(t0.Add(90*day), []string{"b"}, time.Time{})
	x.must(CmdSetKeyEnabled, &fsmpb.SetKeyEnabled{KeyId: "b"}, t0)
	want(t0.Add(1000*day), nil, time.Time{})
	x.must(CmdSetKeyEnabled, &fsmpb.SetKeyEnabled{KeyId: "b", Enabled: true}, t0)
	want(t0.Add(90*day), []string{"b"}, time.Time{})
	x.must(CmdRotateKey, &fsmpb.RotateKey{KeyId: "b", NextRotationDate: t0.Add(180 * day).UnixNano(),
		Material: &fsmpb.KeyMaterial{Version: 2, Sealed: sealedUnder(1, 60), RotationType: string(RotationTypeAutomatic)}}, t0.Add(90*day))
	want(t0.Add(90*day), nil, t0.Add(180*day))
	x.must(CmdRotateKey, &fsmpb.RotateKey{KeyId: "b",
		Material: &fsmpb.KeyMaterial{Version: 3, Sealed: sealedUnder(1, 60), RotationType: string(RotationTypeOnDemand)}}, t0)
	want(t0.Add(90*day), nil, t0.Add(180*day)) // on demand: the schedule stays
	x.must(CmdSetKeyRotation, &fsmpb.SetKeyRotation{KeyId: "b"}, t0)
	want(t0.Add(1000*day), nil, time.Time{})

	// Imported material: due when it expires, whatever the key's state;
	// out once expired or deleted; in again when re-imported.
	ext := &fsmpb.Key{KeyId: "ext", KeyUsage: "ENCRYPT_DECRYPT", KeySpec: "SYMMETRIC_DEFAULT", KeyState: string(StatePendingImport), Origin: OriginExternal}
	x.must(CmdCreateKey, &fsmpb.CreateKey{Key: ext}, t0)
	imp := func(id string, version uint32, validTo time.Time, isNew bool) {
		t.Helper()
		r := &fsmpb.ImportMaterial{KeyMaterialId: id, Version: version, Imported: true, ExpirationModel: "KEY_MATERIAL_EXPIRES", ValidTo: nanosOf(validTo)}
		c := &fsmpb.ImportKeyMaterial{KeyId: "ext", Record: r, NewMaterial: isNew}
		if version == 0 {
			r.SealedPending = sealedUnder(1, 60)
		} else {
			c.Sealed = sealedUnder(1, 60)
		}
		x.must(CmdImportKeyMaterial, c, t0)
	}
	imp("m1", 1, t0.Add(30*day), false)
	want(t0.Add(30*day), []string{"ext"}, time.Time{})
	imp("m1", 1, t0.Add(60*day), false) // re-imported with a later expiry
	want(t0.Add(30*day), nil, t0.Add(60*day))
	imp("m2", 0, t0.Add(10*day), true) // awaiting rotation, expiring first
	want(t0.Add(10*day), []string{"ext"}, time.Time{})
	x.must(CmdScheduleKeyDeletion, &fsmpb.ScheduleKeyDeletion{KeyId: "ext", DeletionDate: t0.Add(20 * day).UnixNano(), PendingWindowDays: 20}, t0)
	want(t0.Add(10*day), []string{"ext"}, time.Time{})
	x.must(CmdCancelKeyDeletion, &fsmpb.KeyRef{KeyId: "ext"}, t0)
	x.must(CmdDeleteImportedKeyMaterial, &fsmpb.ImportDeleteMaterial{KeyId: "ext", KeyMaterialId: "m2", Expire: true}, t0.Add(10*day))
	want(t0.Add(10*day), nil, t0.Add(60*day))
	x.must(CmdSetKeyEnabled, &fsmpb.SetKeyEnabled{KeyId: "ext", Enabled: true}, t0)
	imp("m3", 0, time.Time{}, true) // never expires
	x.must(CmdRotateImportedKey, &fsmpb.ImportRotate{KeyId: "ext", KeyMaterialId: "m3",
		Material: &fsmpb.KeyMaterial{Version: 2, Sealed: sealedUnder(1, 60), RotationType: string(RotationTypeOnDemand)}}, t0)
	want(t0.Add(60*day), []string{"ext"}, time.Time{})
	x.must(CmdDeleteImportedKeyMaterial, &fsmpb.ImportDeleteMaterial{KeyId: "ext", KeyMaterialId: "m1", Expire: true}, t0.Add(60*day))
	want(t0.Add(1000*day), nil, time.Time{})

	// A restored replica indexes the same keys, and reads the same.
	restored := newFSM(t)
	if err := restored.Restore(io.NopCloser(bytes.NewReader(snapshotBytes(t, x.f)))); err != nil {
		t.Fatal(err)
	}
	checkIndex(t, restored, "restore")
	x.f.mu.RLock()
	same := reflect.DeepEqual(dumpIndex(&x.f.st.index), dumpIndex(&restored.st.index))
	x.f.mu.RUnlock()
	if !same {
		t.Fatal("the restored index differs from the one Apply kept")
	}
}

// TestStaleSealedFromTheIndex: after a keyring rotation every value under
// the old term is stale, in StaleSealed's order, and a re-seal batch, a
// deleted key or access key, expired material and a restore move the
// count as they should.
func TestStaleSealedFromTheIndex(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0).UTC()
	x := initWithKeys(t, t0, "k2", "k1", "k3")
	x.must(CmdRotateKey, &fsmpb.RotateKey{KeyId: "k1",
		Material: &fsmpb.KeyMaterial{Version: 2, Sealed: sealedUnder(1, 60), RotationType: string(RotationTypeOnDemand)}}, t0)
	x.must(CmdCreateUser, &fsmpb.CreateUser{User: &fsmpb.User{Name: "u", Arn: "arn:aws:iam::1:user/u"}}, t0)
	x.must(CmdCreateAccessKey, &fsmpb.AccessKey{AccessKeyId: "AKIAU", SealedSecret: sealedUnder(1, 40), UserName: "u"}, t0)
	ext := &fsmpb.Key{KeyId: "k0", KeyUsage: "ENCRYPT_DECRYPT", KeySpec: "SYMMETRIC_DEFAULT", KeyState: string(StatePendingImport), Origin: OriginExternal}
	x.must(CmdCreateKey, &fsmpb.CreateKey{Key: ext}, t0)
	x.must(CmdImportKeyMaterial, &fsmpb.ImportKeyMaterial{KeyId: "k0", Sealed: sealedUnder(1, 60),
		Record: &fsmpb.ImportMaterial{KeyMaterialId: "a", Version: 1, Imported: true, ExpirationModel: "KEY_MATERIAL_EXPIRES", ValidTo: t0.Add(time.Hour).UnixNano()}}, t0)
	x.must(CmdImportKeyMaterial, &fsmpb.ImportKeyMaterial{KeyId: "k0", NewMaterial: true,
		Record: &fsmpb.ImportMaterial{KeyMaterialId: "b", Imported: true, SealedPending: sealedUnder(1, 60), ExpirationModel: "KEY_MATERIAL_DOES_NOT_EXPIRE"}}, t0)

	if refs, n := x.f.Query().StaleSealed(10); n != 0 || len(refs) != 0 {
		t.Fatalf("stale before a rotation: %d %+v", n, refs)
	}
	kr, err := seal.NewKeyring(nil)
	if err != nil {
		t.Fatal(err)
	}
	term, upgrade, err := kr.NewUpgrade(nil)
	if err != nil || term != 2 {
		t.Fatalf("upgrade to term %d: %v", term, err)
	}
	x.must(CmdRotateKeyring, &fsmpb.RotateKeyring{Term: term, Upgrade: upgrade}, t0)
	type ref struct {
		kind    uint32
		id      string
		version uint32
	}
	stale := func(limit int) ([]ref, int) {
		refs, n := x.f.Query().StaleSealed(limit)
		var out []ref
		for _, r := range refs {
			out = append(out, ref{r.Kind, r.ID, r.Version})
		}
		return out, n
	}
	all := []ref{{SealedKeyMaterial, "k0", 1}, {SealedPendingImport, "k0/b", 0}, {SealedKeyMaterial, "k1", 1}, {SealedKeyMaterial, "k1", 2},
		{SealedKeyMaterial, "k2", 1}, {SealedKeyMaterial, "k3", 1}, {SealedAccessKey, "AKIAROOT", 0}, {SealedAccessKey, "AKIAU", 0}}
	if got, n := stale(100); n != len(all) || !slices.Equal(got, all) {
		t.Fatalf("stale after the rotation: %d %v, want %v", n, got, all)
	}
	if got, n := stale(3); n != len(all) || !slices.Equal(got, all[:3]) {
		t.Fatalf("first 3: %d %v", n, got)
	}

	// A batch re-seals k1's two versions and the user's secret.
	x.must(CmdRotateReseal, &fsmpb.RotateReseal{Items: []*fsmpb.RotateResealItem{
		{Kind: SealedKeyMaterial, Id: "k1", Version: 1, Sealed: sealedUnder(2, 60)},
		{Kind: SealedKeyMaterial, Id: "k1", Version: 2, Sealed: sealedUnder(2, 60)},
		{Kind: SealedAccessKey, Id: "AKIAU", Sealed: sealedUnder(2, 40)},
	}}, t0)
	left := []ref{all[0], all[1], all[4], all[5], all[6]}
	if got, n := stale(100); n != len(left) || !slices.Equal(got, left) {
		t.Fatalf("after a batch: %d %v, want %v", n, got, left)
	}
	// Gone values are no longer stale: an expired material, a deleted key,
	// a deleted access key; a rotated pending material is a version now.
	x.must(CmdDeleteImportedKeyMaterial, &fsmpb.ImportDeleteMaterial{KeyId: "k0", KeyMaterialId: "a", Expire: true}, t0.Add(time.Hour))
	x.must(CmdScheduleKeyDeletion, &fsmpb.ScheduleKeyDeletion{KeyId: "k3", DeletionDate: t0.UnixNano(), PendingWindowDays: 7}, t0)
	x.must(CmdDeleteKey, &fsmpb.KeyRef{KeyId: "k3"}, t0)
	x.must(CmdCreateAccessKey, &fsmpb.AccessKey{AccessKeyId: "AKIAV", SealedSecret: sealedUnder(2, 40), UserName: "u"}, t0)
	x.must(CmdDeleteAccessKey, &fsmpb.DeleteAccessKey{AccessKeyId: "AKIAU"}, t0)
	if got, n := stale(100); n != 3 || !slices.Equal(got, []ref{all[1], all[4], all[6]}) {
		t.Fatalf("after deletions: %d %v", n, got)
	}
	restored := newFSM(t)
	if err := restored.Restore(io.NopCloser(bytes.NewReader(snapshotBytes(t, x.f)))); err != nil {
		t.Fatal(err)
	}
	checkIndex(t, restored, "restore")
	if _, n := restored.Query().StaleSealed(0); n != 3 {
		t.Fatalf("restored: %d stale", n)
	}
}

// TestKeyIDPage pages through the keys with several page sizes, with keys
// created and deleted between pages: every key present throughout is
// listed once, in order.
func TestKeyIDPage(t *testing.T) {
	f, idx := scaleFSM(t, 250, 0, 0)
	x := &indexedFSM{t: t, f: f, index: idx}
	all := f.Query().KeyIDs()
	if len(all) != 250 || !slices.IsSorted(all) {
		t.Fatalf("%d ids, sorted %v", len(all), slices.IsSorted(all))
	}
	for _, limit := range []int{1, 7, 100, 250, 1000} {
		var got []string
		after := ""
		for page := 0; ; page++ {
			ids, more := f.Query().KeyIDPage(after, limit)
			if len(ids) > limit || (more && len(ids) != limit) {
				t.Fatalf("limit %d: page of %d, more %v", limit, len(ids), more)
			}
			got = append(got, ids...)
			if !more {
				break
			}
			after = ids[len(ids)-1]
			if limit == 7 && page == 3 {
				// Keys are created before the marker and after it.
				for _, id := range []string{"00000000-new", "zzzzzzzz-new"} {
					k := testKey(id, scaleNow.UnixNano())
					x.must(CmdCreateKey, &fsmpb.CreateKey{Key: k}, scaleNow)
				}
			}
		}
		want := slices.Clone(all)
		if limit == 7 {
			want = append(want, "zzzzzzzz-new")
		}
		if !slices.Equal(got, want) {
			t.Fatalf("limit %d: %d ids listed, want %d", limit, len(got), len(want))
		}
		if limit == 7 {
			all = f.Query().KeyIDs()
		}
	}
	if ids, more := f.Query().KeyIDPage(all[len(all)-1], 10); len(ids) != 0 || more {
		t.Fatalf("after the last id: %v %v", ids, more)
	}
}

// TestSnapshotKeepsKeysAsCaptured: a snapshot captured before a run of
// commands writes the state as it was, though it shares the key records
// with the state (captureSnapshot) and Persist runs while they apply.
func TestSnapshotKeepsKeysAsCaptured(t *testing.T) {
	f := newFSM(t) // with an audit store, which notes key usage
	idx := scaleOn(t, f, 200, 50, 10)
	before := snapshotBytes(t, f)
	s, err := f.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Release()
	var cmds [][]byte
	later := scaleNow.Add(400 * 24 * time.Hour)
	for i := range 200 {
		id := scaleKeyID(i)
		at := scaleNow
		var ct CommandType
		var p proto.Message
		switch i % 5 {
		case 0:
			ct, p, at = CmdRotateKey, &fsmpb.RotateKey{KeyId: id, NextRotationDate: later.UnixNano(),
				Material: &fsmpb.KeyMaterial{Version: 2, Sealed: sealedUnder(1, 60), RotationType: string(RotationTypeAutomatic)}}, later
		case 1:
			ct, p = CmdCancelKeyDeletion, &fsmpb.KeyRef{KeyId: id}
		case 2:
			ct, p = CmdTagResource, &fsmpb.TagResource{KeyId: id, Tags: []*fsmpb.Tag{{Key: "t", Value: "v"}}}
		case 3:
			ct, p = CmdUpdateKeyDescription, &fsmpb.UpdateKeyDescription{KeyId: id, Description: "changed"}
		case 4:
			ct, p = CmdAuditBatch, &fsmpb.AuditBatch{Events: [][]byte{usageEventJSON("Encrypt", "2026-01-01T00:00:00Z", "", "e", id)}}
		}
		data, err := NewCommand(ct, p, at)
		if err != nil {
			t.Fatal(err)
		}
		cmds = append(cmds, data)
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		for i, data := range cmds {
			// Some are refused (a key not pending deletion, a rotation
			// not due): a refusal changes nothing either way.
			f.Apply(&raft.Log{Index: idx + 1 + uint64(i), Type: raft.LogCommand, Data: data})
		}
	})
	var buf bytes.Buffer
	if err := s.(*fsmSnapshot).write(&buf); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if !bytes.Equal(buf.Bytes(), before) {
		t.Fatal("the snapshot changed with the commands applied after it was captured")
	}
	if bytes.Equal(snapshotBytes(t, f), before) {
		t.Fatal("the commands changed nothing")
	}
	k, _ := f.Query().Key(scaleKeyID(3))
	if k.Description != "changed" {
		t.Fatalf("description %q: a change went to a copy the state does not hold", k.Description)
	}
	if k, _ := f.Query().Key(scaleKeyID(4)); k.LastUsage.Operation != "Encrypt" {
		t.Fatalf("usage %+v not noted", k.LastUsage)
	}
}
