package fsm

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	"google.golang.org/protobuf/proto"

	"github.com/keyraft/keyraft/fsm/fsmpb"
)

func encode(t *testing.T, ct CommandType, payload any, ts int64) []byte {
	t.Helper()
	var b []byte
	var err error
	switch p := payload.(type) {
	case proto.Message:
		b, err = NewCommand(ct, p, time.Unix(0, ts))
	default:
		t.Fatalf("unexpected payload %T", payload)
	}
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// commandLog is a realistic sequence, including commands the FSM must refuse.
func commandLog(t *testing.T) [][]byte {
	t.Helper()
	var log [][]byte
	ts := int64(1_700_000_000_000_000_000)
	// CreateKey before Init is refused deterministically.
	log = append(log, encode(t, CmdCreateKey, &fsmpb.CreateKey{Key: testKey("early", ts)}, ts))
	log = append(log, encode(t, CmdInit, &fsmpb.Init{
		Shares: 5, Threshold: 3, SealedKeyring: []byte("sealed-keyring"),
		RootAccessKey: &fsmpb.AccessKey{AccessKeyId: "AKIAROOT", SealedSecret: []byte("sealed-secret")},
	}, ts))
	log = append(log, encode(t, CmdInit, &fsmpb.Init{Shares: 1, Threshold: 1, SealedKeyring: []byte("other"),
		RootAccessKey: &fsmpb.AccessKey{AccessKeyId: "AKIAOTHER"}}, ts))
	for i := range 40 {
		ts += int64(time.Second)
		id := fmt.Sprintf("key-%03d", (i*7)%40) // out of order ids
		log = append(log, encode(t, CmdCreateKey, &fsmpb.CreateKey{Key: testKey(id, ts)}, ts))
	}
	// Duplicate key id.
	log = append(log, encode(t, CmdCreateKey, &fsmpb.CreateKey{Key: testKey("key-001", ts)}, ts))
	// Lifecycle, aliases, tags and rotation, including refusals.
	later := ts + int64(30*24*time.Hour)
	log = append(log,
		encode(t, CmdUpdateKeyDescription, &fsmpb.UpdateKeyDescription{KeyId: "key-002", Description: "new"}, ts),
		encode(t, CmdSetKeyEnabled, &fsmpb.SetKeyEnabled{KeyId: "key-003", Enabled: false}, ts),
		encode(t, CmdScheduleKeyDeletion, &fsmpb.ScheduleKeyDeletion{KeyId: "key-004", DeletionDate: later, PendingWindowDays: 30}, ts),
		encode(t, CmdScheduleKeyDeletion, &fsmpb.ScheduleKeyDeletion{KeyId: "key-004", DeletionDate: later, PendingWindowDays: 30}, ts),
		encode(t, CmdDeleteKey, &fsmpb.KeyRef{KeyId: "key-004"}, ts), // not due
		encode(t, CmdScheduleKeyDeletion, &fsmpb.ScheduleKeyDeletion{KeyId: "key-005", DeletionDate: ts, PendingWindowDays: 7}, ts),
		encode(t, CmdCreateAlias, &fsmpb.AliasChange{AliasName: "alias/a", TargetKeyId: "key-006"}, ts),
		encode(t, CmdCreateAlias, &fsmpb.AliasChange{AliasName: "alias/a", TargetKeyId: "key-007"}, ts),
		encode(t, CmdCreateAlias, &fsmpb.AliasChange{AliasName: "alias/gone", TargetKeyId: "key-005"}, ts),
		encode(t, CmdCreateAlias, &fsmpb.AliasChange{AliasName: "alias/b", TargetKeyId: "key-008"}, ts),
		encode(t, CmdUpdateAlias, &fsmpb.AliasChange{AliasName: "alias/b", TargetKeyId: "key-009"}, ts),
		encode(t, CmdDeleteAlias, &fsmpb.AliasChange{AliasName: "alias/none"}, ts),
		encode(t, CmdTagResource, &fsmpb.TagResource{KeyId: "key-010", Tags: []*fsmpb.Tag{{Key: "a", Value: "9"}, {Key: "z", Value: "1"}}}, ts),
		encode(t, CmdUntagResource, &fsmpb.UntagResource{KeyId: "key-010", TagKeys: []string{"b"}}, ts),
		encode(t, CmdSetKeyRotation, &fsmpb.SetKeyRotation{KeyId: "key-011", Enabled: true, RotationPeriodDays: 90, NextRotationDate: ts}, ts),
		encode(t, CmdRotateKey, &fsmpb.RotateKey{KeyId: "key-011", NextRotationDate: later,
			Material: &fsmpb.KeyMaterial{Version: 2, Sealed: []byte("m2"), CreateDate: ts, RotationType: string(RotationTypeAutomatic)}}, ts),
		encode(t, CmdRotateKey, &fsmpb.RotateKey{KeyId: "key-011",
			Material: &fsmpb.KeyMaterial{Version: 3, Sealed: []byte("m3"), CreateDate: ts, RotationType: string(RotationTypeOnDemand)}}, ts),
		encode(t, CmdRotateKey, &fsmpb.RotateKey{KeyId: "key-011",
			Material: &fsmpb.KeyMaterial{Version: 3, Sealed: []byte("stale"), CreateDate: ts, RotationType: string(RotationTypeOnDemand)}}, ts),
		encode(t, CmdRotateKey, &fsmpb.RotateKey{KeyId: "key-003",
			Material: &fsmpb.KeyMaterial{Version: 2, Sealed: []byte("m"), CreateDate: ts, RotationType: string(RotationTypeOnDemand)}}, ts),
	)
	for i := range 5 {
		log = append(log, encode(t, CmdAuditBatch, &fsmpb.AuditBatch{Events: [][]byte{
			[]byte(fmt.Sprintf(`{"eventName":"Encrypt","n":%d}`, i)), []byte(`{"eventName":"Decrypt"}`)}}, ts))
	}
	// Usage noted from the events (usage.go): the snapshot carries it.
	log = append(log, encode(t, CmdAuditBatch, &fsmpb.AuditBatch{Events: [][]byte{
		usageEventJSON("Sign", "2023-11-14T22:13:30.5Z", "", "e1", "key-001"),
		usageEventJSON("ReEncrypt", "2023-11-14T22:13:31Z", "", "e2", "key-002", "key-003"),
		usageEventJSON("Decrypt", "2023-11-14T22:13:32Z", "AccessDeniedException", "e3", "key-002"),
	}}, ts))
	for i := range 3 {
		b, err := NewAuditBatchCommand([][]byte{[]byte(fmt.Sprintf(`{"eventName":"GenerateDataKey","n":%d}`, i))}, time.Unix(0, ts))
		if err != nil {
			t.Fatal(err)
		}
		log = append(log, b)
	}
	log = append(log, encode(t, CmdAuditTrim, &fsmpb.AuditTrim{BeforeSeq: 4, Event: []byte(`{"eventName":"AuditTrim"}`)}, ts))
	ts += int64(time.Second)
	log = append(log, encode(t, CmdDeleteKey, &fsmpb.KeyRef{KeyId: "key-005"}, ts))
	log = append(log, encode(t, CmdRemovePeer, &fsmpb.RemovePeer{NodeId: "n3", BootNonce: "b1"}, ts))
	log = append(log, encode(t, CmdRemovePeer, &fsmpb.RemovePeer{NodeId: "n2", BootNonce: "b2"}, ts))
	// Principals, policies and grants, refusals included.
	user := func(n string) *fsmpb.User {
		return &fsmpb.User{Name: n, Arn: "arn:aws:iam::1:user/" + n, CreateDate: ts}
	}
	ak := func(id, u string) *fsmpb.AccessKey {
		return &fsmpb.AccessKey{AccessKeyId: id, SealedSecret: []byte("s"), UserName: u, PrincipalArn: "arn:aws:iam::1:user/" + u}
	}
	grant := func(id, key string) *fsmpb.Grant {
		return &fsmpb.Grant{GrantId: id, KeyId: key, GranteePrincipal: "arn:aws:iam::1:user/alice", Operations: []string{"Decrypt"},
			ContextEquals: map[string]string{"b": "2", "a": "1"}, Token: "t-" + id}
	}
	log = append(log,
		encode(t, CmdCreateUser, &fsmpb.CreateUser{User: user("alice")}, ts),
		encode(t, CmdCreateUser, &fsmpb.CreateUser{User: user("ALICE")}, ts), // exists, whatever the case
		encode(t, CmdCreateUser, &fsmpb.CreateUser{User: user("bob")}, ts),
		encode(t, CmdCreateAccessKey, ak("AKIA1", "alice"), ts),
		encode(t, CmdCreateAccessKey, ak("AKIA2", "alice"), ts),
		encode(t, CmdCreateAccessKey, ak("AKIA3", "alice"), ts), // over the limit
		encode(t, CmdCreateAccessKey, ak("AKIA4", "nobody"), ts),
		encode(t, CmdDeleteAccessKey, &fsmpb.DeleteAccessKey{AccessKeyId: "AKIA2"}, ts),
		encode(t, CmdPutUserPolicy, &fsmpb.PutUserPolicy{UserName: "bob", Policy: &fsmpb.UserPolicy{Name: "z", Document: "{}"}}, ts),
		encode(t, CmdPutUserPolicy, &fsmpb.PutUserPolicy{UserName: "bob", Policy: &fsmpb.UserPolicy{Name: "a", Document: "{}"}}, ts),
		encode(t, CmdPutKeyPolicy, &fsmpb.PutKeyPolicy{KeyId: "key-012", Policy: `{"Statement":[]}`}, ts),
		encode(t, CmdCreateGrant, &fsmpb.CreateGrant{Grant: grant("g1", "key-012")}, ts),
		encode(t, CmdCreateGrant, &fsmpb.CreateGrant{Grant: grant("g2", "key-013")}, ts),
		encode(t, CmdCreateGrant, &fsmpb.CreateGrant{Grant: grant("g3", "no-such-key")}, ts),
		encode(t, CmdRemoveGrant, &fsmpb.RemoveGrant{KeyId: "key-013", GrantId: "g2"}, ts),
		encode(t, CmdRemoveGrant, &fsmpb.RemoveGrant{KeyId: "key-013", GrantId: "g2"}, ts),
	)
	return log
}

func testKey(id string, ts int64) *fsmpb.Key {
	return &fsmpb.Key{
		KeyId: id, CreationDate: ts, Description: "d-" + id, KeyUsage: "ENCRYPT_DECRYPT",
		KeySpec: "SYMMETRIC_DEFAULT", KeyState: "Enabled", Origin: "AWS_KMS",
		Material: []*fsmpb.KeyMaterial{{Version: 1, Sealed: []byte("m-" + id), CreateDate: ts}},
		Tags:     []*fsmpb.Tag{{Key: "b", Value: "2"}, {Key: "a", Value: "1"}},
	}
}

// newFSM returns an FSM with its own audit store in a temporary directory.
func newFSM(t testing.TB) *FSM {
	t.Helper()
	f, _ := newFSMAt(t)
	return f
}

func applyAll(f *FSM, log [][]byte, from uint64) []any {
	var results []any
	for i, data := range log {
		results = append(results, f.Apply(&raft.Log{Index: from + uint64(i), Type: raft.LogCommand, Data: data}))
	}
	return results
}

func snapshotBytes(t testing.TB, f *FSM) []byte {
	t.Helper()
	s, err := f.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Release()
	var buf bytes.Buffer
	if err := s.(*fsmSnapshot).write(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestDeterminism applies one log to two FSMs and to a third restored from a
// snapshot taken midway: all three must produce the same snapshot bytes.
func TestDeterminism(t *testing.T) {
	log := commandLog(t)
	a, b := newFSM(t), newFSM(t)
	ra := applyAll(a, log, 1)
	rb := applyAll(b, log, 1)
	for i := range ra {
		if fmt.Sprint(ra[i]) != fmt.Sprint(rb[i]) {
			t.Fatalf("entry %d: results differ: %v vs %v", i, ra[i], rb[i])
		}
	}

	mid := len(log) / 2
	half := newFSM(t)
	applyAll(half, log[:mid], 1)
	restored := newFSM(t)
	if err := restored.Restore(io.NopCloser(bytes.NewReader(snapshotBytes(t, half)))); err != nil {
		t.Fatal(err)
	}
	applyAll(restored, log[mid:], uint64(mid)+1)

	// Raft may hand the same log over in runs (BatchingFSM): same state.
	batched := newFSM(t)
	for i := 0; i < len(log); i += 7 {
		var run []*raft.Log
		for j := i; j < min(i+7, len(log)); j++ {
			run = append(run, &raft.Log{Index: uint64(j) + 1, Type: raft.LogCommand, Data: log[j]})
		}
		res := batched.ApplyBatch(run)
		for j := range res {
			if fmt.Sprint(res[j]) != fmt.Sprint(ra[i+j]) {
				t.Fatalf("entry %d: ApplyBatch result %v, Apply result %v", i+j, res[j], ra[i+j])
			}
		}
	}
	if !bytes.Equal(snapshotBytes(t, a), snapshotBytes(t, batched)) {
		t.Fatal("applying in runs diverged from applying one by one")
	}

	sa, sb, sr := snapshotBytes(t, a), snapshotBytes(t, b), snapshotBytes(t, restored)
	if !bytes.Equal(sa, sb) {
		t.Fatal("two FSMs fed the same log produced different snapshots")
	}
	if !bytes.Equal(sa, sr) {
		t.Fatal("FSM restored from a midway snapshot diverged")
	}
	if seq, _ := a.Audit().Head(); seq != 17 || a.Audit().First() != 4 {
		t.Fatalf("audit head %d first %d, want 17 and 4 (13 plain events, 3 deflated, 3 trimmed, the trim's own)", seq, a.Audit().First())
	}
	for _, f := range []*FSM{a, b, restored} {
		if n, viol, err := f.Audit().Verify(); err != nil || viol != nil || n != 14 {
			t.Fatalf("audit verify: %d events, %v %v", n, viol, err)
		}
	}
	if got := len(a.Query().KeyIDs()); got != 39 {
		t.Fatalf("keys = %d, want 39 (40 created, one deleted)", got)
	}
	for _, f := range []*FSM{a, restored, batched} {
		if k, _ := f.Query().Key("key-003"); k.LastUsage.Operation != "ReEncrypt" || k.LastUsage.EventID != "e2" {
			t.Fatalf("key-003's last usage: %+v", k.LastUsage)
		}
	}
	if _, ok := a.Query().Alias("alias/gone"); ok {
		t.Fatal("deleting a key left its alias behind")
	}
	if al, _ := a.Query().Alias("alias/b"); al.TargetKeyID != "key-009" {
		t.Fatalf("alias/b -> %v", al)
	}
	if k, _ := a.Query().Key("key-011"); len(k.Material) != 3 {
		t.Fatalf("key-011 has %d material versions, want 3", len(k.Material))
	}
	if k, _ := a.Query().Key("key-003"); k.KeyState != StateDisabled || len(k.Material) != 1 {
		t.Fatalf("disabled key rotated or not disabled: %v", k)
	}
	if !errors.Is(ra[0].(error), ErrNotInitialized) {
		t.Fatalf("CreateKey before init: %v", ra[0])
	}
	if !errors.Is(ra[2].(error), ErrAlreadyInitialized) {
		t.Fatalf("second init: %v", ra[2])
	}
	if in, _ := a.Query().Init(); in.RootAccessKey.AccessKeyID != "AKIAROOT" {
		t.Fatal("second init replaced the first")
	}
}

func TestSnapshotRoundTripKeepsReads(t *testing.T) {
	f := newFSM(t)
	applyAll(f, commandLog(t), 1)
	r := newFSM(t)
	if err := r.Restore(io.NopCloser(bytes.NewReader(snapshotBytes(t, f)))); err != nil {
		t.Fatal(err)
	}
	if r.AppliedIndex() != f.AppliedIndex() {
		t.Fatalf("index %d != %d", r.AppliedIndex(), f.AppliedIndex())
	}
	// The trimmed audit log travels with its anchor and still verifies.
	if n, viol, err := r.Audit().Verify(); err != nil || viol != nil || n != 14 || r.Audit().First() != 4 {
		t.Fatalf("restored audit log: %d events from %d, %v %v", n, r.Audit().First(), viol, err)
	}
	if _, ok := r.Query().AccessKey("AKIAROOT"); !ok {
		t.Fatal("access key lost in restore")
	}
	if _, ok := r.Query().RemovedBootNonce("n3"); !ok {
		t.Fatal("tombstone lost in restore")
	}
	k, ok := r.Query().Key("key-007")
	if !ok || string(k.Material[0].Sealed) != "m-key-007" {
		t.Fatalf("key lost in restore: %v", k)
	}
}

func TestRestoreRejectsGarbage(t *testing.T) {
	f := newFSM(t)
	applyAll(f, commandLog(t), 1)
	good := snapshotBytes(t, f)
	for _, bad := range [][]byte{nil, []byte("KRSNAP"), good[:len(good)-3], append([]byte("XXSNAP"), good[6:]...)} {
		if err := newFSM(t).Restore(io.NopCloser(bytes.NewReader(bad))); err == nil {
			t.Fatalf("restore of %d corrupt bytes succeeded", len(bad))
		}
	}
}

func TestUnknownCommand(t *testing.T) {
	f := newFSM(t)
	skip, _ := NewCommand(CommandType(200), &fsmpb.RemovePeer{NodeId: "x"}, time.Unix(0, 0))
	env, _ := DecodeCommand(skip)
	env.Flags = FlagIgnoreUnknown
	withFlag := mustMarshal(t, env)
	if res := f.Apply(&raft.Log{Index: 1, Type: raft.LogCommand, Data: withFlag}); res != nil {
		t.Fatalf("ignorable unknown command returned %v", res)
	}
	defer func() {
		if recover() == nil {
			t.Fatal("unknown command without the ignore flag did not stop the replica")
		}
	}()
	f.Apply(&raft.Log{Index: 2, Type: raft.LogCommand, Data: skip})
}

func mustMarshal(t *testing.T, m proto.Message) []byte {
	t.Helper()
	b, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestAccessRecords checks what the principal, policy and grant commands of
// commandLog leave behind, including their refusals.
func TestAccessRecords(t *testing.T) {
	log := commandLog(t)
	f := newFSM(t)
	res := applyAll(f, log, 1)
	var refusals []error
	for _, r := range res {
		if err, ok := r.(error); ok {
			refusals = append(refusals, err)
		}
	}
	for _, want := range []error{ErrUserExists, ErrAccessKeyLimit, ErrUserNotFound, ErrKeyNotFound, ErrGrantNotFound} {
		found := false
		for _, err := range refusals {
			found = found || errors.Is(err, want)
		}
		if !found {
			t.Errorf("no command was refused with %v", want)
		}
	}
	if users := f.Query().Users(); len(users) != 2 || users[0].Name != "alice" || users[1].Name != "bob" {
		t.Fatalf("users: %v", users)
	}
	if keys := f.Query().UserAccessKeys("alice"); len(keys) != 1 || keys[0].AccessKeyID != "AKIA1" {
		t.Fatalf("alice's access keys: %v", keys)
	}
	if _, ok := f.Query().AccessKey("AKIA2"); ok {
		t.Fatal("a deleted access key still authenticates")
	}
	if bob, _ := f.Query().User("bob"); len(bob.Policies) != 2 || bob.Policies[0].Name != "a" {
		t.Fatalf("bob's policies are not sorted by name: %v", bob.Policies)
	}
	if k, _ := f.Query().Key("key-012"); k.Policy != `{"Statement":[]}` {
		t.Fatalf("key policy: %q", k.Policy)
	}
	grants := f.Query().Grants(func(Grant) bool { return true })
	if len(grants) != 1 || grants[0].GrantID != "g1" {
		t.Fatalf("grants: %v", grants)
	}
}
