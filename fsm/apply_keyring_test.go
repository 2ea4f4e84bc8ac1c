package fsm

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/hashicorp/raft"
	"google.golang.org/protobuf/proto"

	"github.com/keyraft/keyraft/fsm/fsmpb"
	"github.com/keyraft/keyraft/seal"
)

// keyringFSM is an initialised FSM whose values are really sealed under a
// real keyring, so that terms are read from real headers.
type keyringFSM struct {
	f     *FSM
	kr    *seal.Keyring
	root  []byte
	index uint64
	seen  [][]byte // what the keyring observer was last told
}

func newKeyringFSM(t *testing.T) *keyringFSM {
	t.Helper()
	root, _ := seal.GenerateRootKey(nil)
	kr, err := seal.NewKeyring(nil)
	if err != nil {
		t.Fatal(err)
	}
	sealedKR, _ := seal.SealKeyring(root, kr, nil)
	secret, _ := kr.Seal("accesskey/AKIAROOT", []byte("secret"), nil)
	k := &keyringFSM{f: newFSM(t), kr: kr, root: root}
	k.f.SetKeyringObserver(func(u [][]byte) { k.seen = u })
	k.must(t, CmdInit, &fsmpb.Init{Shares: 3, Threshold: 2, SealedKeyring: sealedKR,
		RootAccessKey: &fsmpb.AccessKey{AccessKeyId: "AKIAROOT", SealedSecret: secret}})
	for _, id := range []string{"k1", "k2"} {
		m, _ := kr.Seal(id+"/1", []byte(id), nil)
		key := testKey(id, 1)
		key.Material[0].Sealed = m
		k.must(t, CmdCreateKey, &fsmpb.CreateKey{Key: key})
	}
	return k
}

func (k *keyringFSM) apply(t *testing.T, ct CommandType, p proto.Message) error {
	t.Helper()
	k.index++
	_, err := ResultOf(k.f.Apply(&raft.Log{Index: k.index, Type: raft.LogCommand, Data: encode(t, ct, p, int64(k.index))}))
	return err
}

func (k *keyringFSM) must(t *testing.T, ct CommandType, p proto.Message) {
	t.Helper()
	if err := k.apply(t, ct, p); err != nil {
		t.Fatalf("%s: %v", ct, err)
	}
}

func (k *keyringFSM) rotate(t *testing.T) *fsmpb.RotateKeyring {
	t.Helper()
	term, rec, err := k.kr.NewUpgrade(nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := k.kr.Upgrade([][]byte{rec}); err != nil {
		t.Fatal(err)
	}
	return &fsmpb.RotateKeyring{Term: term, Upgrade: rec}
}

func TestRekeyStartCancel(t *testing.T) {
	k := newKeyringFSM(t)
	for _, bad := range []*fsmpb.RekeyConfig{
		{Nonce: "", Shares: 5, Threshold: 3},
		{Nonce: "n", Shares: 2, Threshold: 3},
		{Nonce: "n", Shares: 5, Threshold: 1},
		{Nonce: "n", Shares: 5, Threshold: 3, PendingSealedKeyring: []byte("x")},
	} {
		if err := k.apply(t, CmdRekeyStart, bad); !errors.Is(err, ErrInvalidCommand) {
			t.Fatalf("start %v: %v", bad, err)
		}
	}
	k.must(t, CmdRekeyStart, &fsmpb.RekeyConfig{Nonce: "n1", Shares: 5, Threshold: 3, Verify: true, Started: 7})
	if err := k.apply(t, CmdRekeyStart, &fsmpb.RekeyConfig{Nonce: "n2", Shares: 5, Threshold: 3}); !errors.Is(err, ErrRekeyInProgress) {
		t.Fatalf("second start: %v", err)
	}
	rk, ok := k.f.Query().Rekey()
	if !ok || rk.Nonce != "n1" || rk.Shares != 5 || rk.Threshold != 3 || !rk.Verify {
		t.Fatalf("rekey config %+v", rk)
	}
	if err := k.apply(t, CmdRekeyCancel, &fsmpb.RekeyCancel{Nonce: "n2"}); !errors.Is(err, ErrNoRekey) {
		t.Fatalf("cancel with another nonce: %v", err)
	}
	k.must(t, CmdRekeyCancel, &fsmpb.RekeyCancel{Nonce: "n1"})
	if _, ok := k.f.Query().Rekey(); ok {
		t.Fatal("rekey still in progress after cancel")
	}
}

func TestRekeyCommitSwitchesRootKey(t *testing.T) {
	k := newKeyringFSM(t)
	before, _ := k.f.Query().Init()
	id, _ := k.f.Query().ClusterID()
	newRoot, _ := seal.GenerateRootKey(nil)
	sealed, _ := seal.SealKeyring(newRoot, k.kr, nil)
	if err := k.apply(t, CmdRekeyCommit, &fsmpb.RekeyCommit{Nonce: "n", SealedKeyring: sealed, KeyringTerm: 1}); !errors.Is(err, ErrNoRekey) {
		t.Fatalf("commit without a rekey: %v", err)
	}
	k.must(t, CmdRekeyStart, &fsmpb.RekeyConfig{Nonce: "n", Shares: 5, Threshold: 3})
	if err := k.apply(t, CmdRekeyCommit, &fsmpb.RekeyCommit{Nonce: "n", SealedKeyring: sealed, KeyringTerm: 2}); !errors.Is(err, ErrKeyringChanged) {
		t.Fatalf("commit of a term the cluster does not have: %v", err)
	}
	k.must(t, CmdRekeyCommit, &fsmpb.RekeyCommit{Nonce: "n", SealedKeyring: sealed, KeyringTerm: 1})
	after, _ := k.f.Query().Init()
	if after.Shares != 5 || after.Threshold != 3 || !bytes.Equal(after.SealedKeyring, sealed) || bytes.Equal(after.SealedKeyring, before.SealedKeyring) {
		t.Fatalf("init after rekey: %d/%d", after.Shares, after.Threshold)
	}
	if _, err := seal.OpenKeyring(k.root, after.SealedKeyring); !errors.Is(err, seal.ErrWrongRootKey) {
		t.Fatalf("old root key still opens the keyring: %v", err)
	}
	if got, _ := k.f.Query().ClusterID(); got != id {
		t.Fatalf("cluster id changed with the rekey: %s != %s", got, id)
	}
	if _, ok := k.f.Query().Rekey(); ok {
		t.Fatal("rekey still in progress after its commit")
	}
}

func TestRekeyVerifyCommitsPendingKeyring(t *testing.T) {
	k := newKeyringFSM(t)
	k.must(t, CmdRekeyStart, &fsmpb.RekeyConfig{Nonce: "n", Shares: 5, Threshold: 3, Verify: true})
	newRoot, _ := seal.GenerateRootKey(nil)
	sealed, _ := seal.SealKeyring(newRoot, k.kr, nil)
	if err := k.apply(t, CmdRekeyCommit, &fsmpb.RekeyCommit{Nonce: "n", SealedKeyring: sealed, KeyringTerm: 1}); !errors.Is(err, ErrInvalidCommand) {
		t.Fatalf("verified rekey committed before its keyring was issued: %v", err)
	}
	k.must(t, CmdRekeyIssue, &fsmpb.RekeyIssue{Nonce: "n", SealedKeyring: sealed, KeyringTerm: 1, VerificationNonce: "v"})
	if err := k.apply(t, CmdRekeyIssue, &fsmpb.RekeyIssue{Nonce: "n", SealedKeyring: sealed, KeyringTerm: 1, VerificationNonce: "v2"}); !errors.Is(err, ErrRekeyInProgress) {
		t.Fatalf("second issue: %v", err)
	}
	// A rotation between issue and verification: the new term's record stays.
	rot := k.rotate(t)
	k.must(t, CmdRotateKeyring, rot)
	rk, _ := k.f.Query().Rekey()
	if rk.VerificationNonce != "v" || !bytes.Equal(rk.PendingSealedKeyring, sealed) {
		t.Fatalf("pending rekey %+v", rk)
	}
	k.must(t, CmdRekeyCommit, &fsmpb.RekeyCommit{Nonce: "n"})
	in, _ := k.f.Query().Init()
	if !bytes.Equal(in.SealedKeyring, sealed) || len(in.KeyringUpgrades) != 1 || in.KeyringTerm != 2 {
		t.Fatalf("after verified commit: %d upgrades, term %d", len(in.KeyringUpgrades), in.KeyringTerm)
	}
	opened, err := seal.OpenKeyring(newRoot, in.SealedKeyring)
	if err != nil {
		t.Fatal(err)
	}
	if err := opened.Upgrade(in.KeyringUpgrades); err != nil || opened.Term() != 2 {
		t.Fatalf("new root key + kept upgrades: %v, term %d", err, opened.Term())
	}
}

func TestRotateAndReseal(t *testing.T) {
	k := newKeyringFSM(t)
	if _, n := k.f.Query().StaleSealed(10); n != 0 {
		t.Fatalf("%d stale values before any rotation", n)
	}
	rot := k.rotate(t)
	k.must(t, CmdRotateKeyring, rot)
	if err := k.apply(t, CmdRotateKeyring, rot); !errors.Is(err, ErrKeyringChanged) {
		t.Fatalf("same term twice: %v", err)
	}
	if len(k.seen) != 1 || !bytes.Equal(k.seen[0], rot.Upgrade) {
		t.Fatal("the keyring observer was not told the new term")
	}
	refs, n := k.f.Query().StaleSealed(2)
	if n != 3 || len(refs) != 2 || refs[0].ID != "k1" || refs[1].ID != "k2" {
		t.Fatalf("stale: %d, %+v", n, refs)
	}
	old1 := refs[0].Sealed
	var items []*fsmpb.RotateResealItem
	for _, r := range refs {
		pt, err := k.kr.Open(r.ID+"/1", r.Sealed)
		if err != nil {
			t.Fatal(err)
		}
		s, _ := k.kr.Seal(r.ID+"/1", pt, nil)
		items = append(items, &fsmpb.RotateResealItem{Kind: r.Kind, Id: r.ID, Version: r.Version, Sealed: s})
	}
	items = append(items, &fsmpb.RotateResealItem{Kind: SealedKeyMaterial, Id: "gone", Version: 1, Sealed: items[0].Sealed})
	k.must(t, CmdRotateReseal, &fsmpb.RotateReseal{Items: items})
	refs, n = k.f.Query().StaleSealed(10)
	if n != 1 || refs[0].Kind != SealedAccessKey || refs[0].ID != "AKIAROOT" {
		t.Fatalf("after one batch: %d, %+v", n, refs)
	}
	// A stale batch (built from term 1 values) does not undo the re-seal.
	k.must(t, CmdRotateReseal, &fsmpb.RotateReseal{Items: []*fsmpb.RotateResealItem{{Kind: SealedKeyMaterial, Id: "k1", Version: 1, Sealed: old1}}})
	key, _ := k.f.Query().Key("k1")
	if term, _ := seal.ValueTerm(key.Material[0].Sealed); term != 2 {
		t.Fatalf("k1 material back under term %d", term)
	}
	// A value under a term the cluster has not reached is refused whole.
	future := bytes.Clone(items[0].Sealed)
	future[3] = 9
	if err := k.apply(t, CmdRotateReseal, &fsmpb.RotateReseal{Items: []*fsmpb.RotateResealItem{
		{Kind: SealedAccessKey, Id: "AKIAROOT", Sealed: items[1].Sealed}, {Kind: SealedKeyMaterial, Id: "k1", Version: 1, Sealed: future},
	}}); !errors.Is(err, ErrInvalidCommand) {
		t.Fatalf("future term: %v", err)
	}
	if _, n := k.f.Query().StaleSealed(10); n != 1 {
		t.Fatal("a refused batch changed state")
	}
	// The root access key's secret is re-sealed where init and the index both see it.
	pt, _ := k.kr.Open("accesskey/AKIAROOT", refs[0].Sealed)
	s, _ := k.kr.Seal("accesskey/AKIAROOT", pt, nil)
	k.must(t, CmdRotateReseal, &fsmpb.RotateReseal{Items: []*fsmpb.RotateResealItem{{Kind: SealedAccessKey, Id: "AKIAROOT", Sealed: s}}})
	in, _ := k.f.Query().Init()
	if term, _ := seal.ValueTerm(in.RootAccessKey.SealedSecret); term != 2 {
		t.Fatalf("root secret under term %d", term)
	}
	if _, n := k.f.Query().StaleSealed(10); n != 0 {
		t.Fatalf("%d stale after the last batch", n)
	}

	// The term, the upgrade and a rekey in progress survive a snapshot, and
	// restoring tells the observer.
	k.must(t, CmdRekeyStart, &fsmpb.RekeyConfig{Nonce: "n", Shares: 5, Threshold: 3})
	g := newFSM(t)
	var told [][]byte
	g.SetKeyringObserver(func(u [][]byte) { told = u })
	if err := g.Restore(io.NopCloser(bytes.NewReader(snapshotBytes(t, k.f)))); err != nil {
		t.Fatal(err)
	}
	gin, _ := g.Query().Init()
	if gin.KeyringTerm != 2 || len(told) != 1 {
		t.Fatalf("restored term %d, observer told %d upgrades", gin.KeyringTerm, len(told))
	}
	if rk, ok := g.Query().Rekey(); !ok || rk.Nonce != "n" {
		t.Fatal("rekey in progress lost by the snapshot")
	}
}
