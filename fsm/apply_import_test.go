package fsm

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	"google.golang.org/protobuf/proto"

	"github.com/keyraft/keyraft/fsm/fsmpb"
)

// TestImportCommands: the import commands' cases and refusals; a second
// replica applying the same log, and one restored from a snapshot, end in
// the same state.
func TestImportCommands(t *testing.T) {
	ts := int64(1_700_000_000_000_000_000)
	f := newFSM(t)
	var log [][]byte
	apply := func(ct CommandType, p proto.Message, at int64) error {
		t.Helper()
		data := encode(t, ct, p, at)
		log = append(log, data)
		_, err := ResultOf(f.Apply(&raft.Log{Index: uint64(len(log)), Type: raft.LogCommand, Data: data}))
		return err
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	refused := func(err, want error) {
		t.Helper()
		var kse *KeyStateError
		if !errors.Is(err, want) && !(want == nil && errors.As(err, &kse)) {
			t.Fatalf("got %v, want %v", err, want)
		}
	}
	state := func(id string) KeyState {
		k, _ := f.Query().Key(id)
		return k.KeyState
	}
	must(apply(CmdInit, &fsmpb.Init{Shares: 1, Threshold: 1, SealedKeyring: []byte("kr"), RootAccessKey: &fsmpb.AccessKey{AccessKeyId: "AK"}}, ts))
	ext := &fsmpb.Key{KeyId: "ext", KeyUsage: "ENCRYPT_DECRYPT", KeySpec: "SYMMETRIC_DEFAULT", KeyState: string(StatePendingImport), Origin: OriginExternal}
	must(apply(CmdCreateKey, &fsmpb.CreateKey{Key: ext}, ts))
	// An EXTERNAL key with material, or a generated one without, is not a key.
	bad := proto.Clone(ext).(*fsmpb.Key)
	bad.KeyId, bad.Material = "bad", []*fsmpb.KeyMaterial{{Version: 1, Sealed: []byte("x")}}
	refused(apply(CmdCreateKey, &fsmpb.CreateKey{Key: bad}, ts), ErrInvalidCommand)
	must(apply(CmdCreateKey, &fsmpb.CreateKey{Key: testKey("native", ts)}, ts))

	rec := func(id string, version uint32, validTo int64) *fsmpb.ImportMaterial {
		r := &fsmpb.ImportMaterial{KeyMaterialId: id, Version: version, Imported: true, ExpirationModel: "KEY_MATERIAL_EXPIRES", ValidTo: validTo}
		if version == 0 {
			r.SealedPending = []byte("pending-" + id)
		}
		return r
	}
	imp := func(key string, r *fsmpb.ImportMaterial, sealed string, isNew bool) error {
		c := &fsmpb.ImportKeyMaterial{KeyId: key, Record: r, NewMaterial: isNew}
		if sealed != "" {
			c.Sealed = []byte(sealed)
		}
		return apply(CmdImportKeyMaterial, c, ts)
	}
	refused(imp("native", rec("a", 1, 0), "s", false), ErrImportNotExternal)
	refused(imp("ext", rec("a", 2, 0), "s", false), ErrInvalidCommand) // a first import is version 1
	must(imp("ext", rec("a", 1, ts+int64(time.Hour)), "sealed-a", false))
	if state("ext") != StateEnabled {
		t.Fatalf("state %s after the first import", state("ext"))
	}
	refused(imp("ext", rec("b", 1, 0), "sealed-b", false), ErrIncorrectKeyMaterial)
	must(imp("ext", rec("b", 0, 0), "", true)) // awaits rotation
	refused(imp("ext", rec("c", 0, 0), "", true), ErrPendingRotation)

	// Expiry only once due, by the command's timestamp.
	expire := &fsmpb.ImportDeleteMaterial{KeyId: "ext", KeyMaterialId: "a", Expire: true}
	refused(apply(CmdDeleteImportedKeyMaterial, expire, ts), ErrNotDue)
	must(apply(CmdDeleteImportedKeyMaterial, expire, ts+int64(time.Hour)))
	k, _ := f.Query().Key("ext")
	if k.KeyState != StatePendingImport || len(k.Material) != 1 || len(k.Material[0].Sealed) != 0 {
		t.Fatalf("after expiry: %+v", k)
	}
	refused(apply(CmdDeleteImportedKeyMaterial, &fsmpb.ImportDeleteMaterial{KeyId: "ext", KeyMaterialId: "a"}, ts), nil)
	refused(apply(CmdRotateImportedKey, &fsmpb.ImportRotate{KeyId: "ext", KeyMaterialId: "b",
		Material: &fsmpb.KeyMaterial{Version: 2, Sealed: []byte("b2"), RotationType: "ON_DEMAND"}}, ts), nil) // PendingImport
	must(imp("ext", rec("a", 1, 0), "sealed-a-again", false))
	rotate := &fsmpb.ImportRotate{KeyId: "ext", KeyMaterialId: "b", Material: &fsmpb.KeyMaterial{Version: 3, Sealed: []byte("b"), RotationType: "ON_DEMAND"}}
	refused(apply(CmdRotateImportedKey, rotate, ts), ErrInvalidCommand) // stale version
	rotate.Material.Version = 2
	must(apply(CmdRotateImportedKey, rotate, ts))
	refused(apply(CmdRotateImportedKey, rotate, ts), ErrPendingRotation)
	refused(apply(CmdRotateKey, &fsmpb.RotateKey{KeyId: "ext", Material: &fsmpb.KeyMaterial{Version: 3, Sealed: []byte("g"), RotationType: "ON_DEMAND"}}, ts), ErrImportNotExternal)
	k, _ = f.Query().Key("ext")
	if cur, ok := k.CurrentImport(); !ok || cur.KeyMaterialID != "b" || k.CurrentVersion() != 2 || string(k.Material[0].Sealed) != "sealed-a-again" {
		t.Fatalf("after rotation: %+v", k)
	}
	// Deleting while pending deletion keeps the state; cancelling then leads to PendingImport.
	must(apply(CmdScheduleKeyDeletion, &fsmpb.ScheduleKeyDeletion{KeyId: "ext", DeletionDate: ts + 1, PendingWindowDays: 7}, ts))
	must(apply(CmdDeleteImportedKeyMaterial, &fsmpb.ImportDeleteMaterial{KeyId: "ext", KeyMaterialId: "b"}, ts))
	if state("ext") != StatePendingDeletion {
		t.Fatalf("state %s", state("ext"))
	}
	must(apply(CmdCancelKeyDeletion, &fsmpb.KeyRef{KeyId: "ext"}, ts))
	if state("ext") != StatePendingImport || f.Query().MaterialPresent("ext", 2) || !f.Query().MaterialPresent("ext", 1) {
		t.Fatalf("after cancel: state %s", state("ext"))
	}

	other := newFSM(t)
	applyAll(other, log, 1)
	restored := newFSM(t)
	if err := restored.Restore(io.NopCloser(bytes.NewReader(snapshotBytes(t, f)))); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(snapshotBytes(t, f), snapshotBytes(t, other)) || !bytes.Equal(snapshotBytes(t, f), snapshotBytes(t, restored)) {
		t.Fatal("replicas differ")
	}
}

// TestResealKeepsDeletedImportsDeleted: a re-seal batch built before
// imported material was deleted (or expired) does not bring it back when
// it applies after; material still present is re-sealed as before.
func TestResealKeepsDeletedImportsDeleted(t *testing.T) {
	ts := int64(1_700_000_000_000_000_000)
	f := newFSM(t)
	var index uint64
	must := func(ct CommandType, p proto.Message) {
		t.Helper()
		index++
		if _, err := ResultOf(f.Apply(&raft.Log{Index: index, Type: raft.LogCommand, Data: encode(t, ct, p, ts)})); err != nil {
			t.Fatalf("%s: %v", ct, err)
		}
	}
	underTerm := func(term byte, body string) []byte { return append([]byte{0, 0, 0, term, 1}, body...) }
	must(CmdInit, &fsmpb.Init{Shares: 1, Threshold: 1, SealedKeyring: []byte("kr"), KeyringTerm: 2, RootAccessKey: &fsmpb.AccessKey{AccessKeyId: "AK"}})
	for _, id := range []string{"gone", "kept"} {
		must(CmdCreateKey, &fsmpb.CreateKey{Key: &fsmpb.Key{KeyId: id, KeyUsage: "ENCRYPT_DECRYPT", KeySpec: "SYMMETRIC_DEFAULT",
			KeyState: string(StatePendingImport), Origin: OriginExternal}})
		must(CmdImportKeyMaterial, &fsmpb.ImportKeyMaterial{KeyId: id, Sealed: underTerm(1, "old-"+id),
			Record: &fsmpb.ImportMaterial{KeyMaterialId: "m-" + id, Version: 1, Imported: true, ExpirationModel: "KEY_MATERIAL_DOES_NOT_EXPIRE"}})
	}
	must(CmdDeleteImportedKeyMaterial, &fsmpb.ImportDeleteMaterial{KeyId: "gone", KeyMaterialId: "m-gone"})
	must(CmdRotateReseal, &fsmpb.RotateReseal{Items: []*fsmpb.RotateResealItem{
		{Kind: SealedKeyMaterial, Id: "gone", Version: 1, Sealed: underTerm(2, "new-gone")},
		{Kind: SealedKeyMaterial, Id: "kept", Version: 1, Sealed: underTerm(2, "new-kept")},
	}})
	if f.Query().MaterialPresent("gone", 1) {
		t.Fatal("a re-seal brought deleted imported material back")
	}
	if k, _ := f.Query().Key("kept"); !bytes.Equal(k.Material[0].Sealed, underTerm(2, "new-kept")) {
		t.Fatal("material still present was not re-sealed")
	}
}

// TestResealPendingImport: material awaiting rotation is listed by
// StaleSealed once the keyring moves on, and a re-seal replaces it.
func TestResealPendingImport(t *testing.T) {
	ts := int64(1_700_000_000_000_000_000)
	f := newFSM(t)
	var index uint64
	must := func(ct CommandType, p proto.Message) {
		t.Helper()
		index++
		if _, err := ResultOf(f.Apply(&raft.Log{Index: index, Type: raft.LogCommand, Data: encode(t, ct, p, ts)})); err != nil {
			t.Fatalf("%s: %v", ct, err)
		}
	}
	underTerm := func(term byte, body string) []byte { return append([]byte{0, 0, 0, term, 1}, body...) }
	must(CmdInit, &fsmpb.Init{Shares: 1, Threshold: 1, SealedKeyring: []byte("kr"), KeyringTerm: 2, RootAccessKey: &fsmpb.AccessKey{AccessKeyId: "AK"}})
	must(CmdCreateKey, &fsmpb.CreateKey{Key: &fsmpb.Key{KeyId: "k", KeyUsage: "ENCRYPT_DECRYPT", KeySpec: "SYMMETRIC_DEFAULT",
		KeyState: string(StatePendingImport), Origin: OriginExternal}})
	must(CmdImportKeyMaterial, &fsmpb.ImportKeyMaterial{KeyId: "k", Sealed: underTerm(2, "first"),
		Record: &fsmpb.ImportMaterial{KeyMaterialId: "a", Version: 1, Imported: true, ExpirationModel: "KEY_MATERIAL_DOES_NOT_EXPIRE"}})
	must(CmdImportKeyMaterial, &fsmpb.ImportKeyMaterial{KeyId: "k", NewMaterial: true,
		Record: &fsmpb.ImportMaterial{KeyMaterialId: "b", SealedPending: underTerm(1, "next"), Imported: true, ExpirationModel: "KEY_MATERIAL_DOES_NOT_EXPIRE"}})
	refs, total := f.Query().StaleSealed(10)
	if total != 1 || refs[0].Kind != SealedPendingImport || refs[0].ID != PendingImportRef("k", "b") {
		t.Fatalf("StaleSealed: %d %+v", total, refs)
	}
	must(CmdRotateReseal, &fsmpb.RotateReseal{Items: []*fsmpb.RotateResealItem{{Kind: SealedPendingImport, Id: refs[0].ID, Sealed: underTerm(2, "next")}}})
	if _, total := f.Query().StaleSealed(10); total != 0 {
		t.Fatalf("%d values still stale", total)
	}
	k, _ := f.Query().Key("k")
	if r, _ := k.Import("b"); !bytes.Equal(r.SealedPending, underTerm(2, "next")) {
		t.Fatal("pending material not re-sealed")
	}
}
