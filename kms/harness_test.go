package kms

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"io"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/keyraft/keyraft/fsm"
	"github.com/keyraft/keyraft/fsm/fsmpb"
	"github.com/keyraft/keyraft/internal/awserr"
	"github.com/keyraft/keyraft/seal"
)

// testService runs the KMS operations against a real FSM fed in-process,
// in log order, as Raft would feed it on the leader, and a real keyring.
type testService struct {
	*Service
	machine *fsm.FSM // the state machine the Service reads and proposes to
	mu      sync.Mutex
	index   uint64
	sealed  atomic.Bool

	clockMu sync.Mutex
	clock   time.Time // the Service's Now once a test has moved time; zero: the wall clock
}

func newTestService(tb testing.TB) *testService {
	tb.Helper()
	kr, err := seal.NewKeyring(rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	ts := &testService{machine: fsm.New(nil)}
	ts.Service = &Service{
		Region: "us-east-1", Account: "111122223333", State: ts.machine.Query(),
		Propose: ts.apply,
		Now:     ts.now,
		Keyring: func() (*seal.Keyring, error) {
			if ts.sealed.Load() {
				return nil, seal.ErrSealed
			}
			return kr, nil
		},
	}
	root, _ := seal.GenerateRootKey(rand.Reader)
	sealedKR, err := seal.SealKeyring(root, kr, rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	cmd, _ := fsm.NewCommand(fsm.CmdInit, &fsmpb.Init{Shares: 1, Threshold: 1, SealedKeyring: sealedKR,
		RootAccessKey: &fsmpb.AccessKey{AccessKeyId: "AKIATEST"}}, time.Now())
	if _, err := ts.apply(context.Background(), cmd); err != nil {
		tb.Fatalf("init: %v", err)
	}
	for _, name := range testUserNames {
		ts.createTestUser(tb, name)
	}
	return ts
}

func (ts *testService) now() time.Time {
	ts.clockMu.Lock()
	defer ts.clockMu.Unlock()
	if ts.clock.IsZero() {
		return time.Now()
	}
	return ts.clock
}

// advance stops the wall clock for the Service and moves it by d.
func (ts *testService) advance(d time.Duration) time.Time {
	ts.clockMu.Lock()
	defer ts.clockMu.Unlock()
	if ts.clock.IsZero() {
		ts.clock = time.Now()
	}
	ts.clock = ts.clock.Add(d)
	return ts.clock
}

func (ts *testService) apply(_ context.Context, cmd []byte) (fsm.Result, error) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	ts.index++
	return fsm.ResultOf(ts.machine.Apply(&raft.Log{Index: ts.index, Type: raft.LogCommand, Data: cmd}))
}

// call runs op with a JSON body built from in and decodes the answer into a map.
func (ts *testService) call(tb testing.TB, op string, in any) (map[string]any, *awserr.Error) {
	tb.Helper()
	body, err := json.Marshal(in)
	if err != nil {
		tb.Fatal(err)
	}
	res, e := ts.Handle(context.Background(), testRoot, op, body)
	if e != nil {
		return nil, e
	}
	b, err := json.Marshal(res)
	if err != nil {
		tb.Fatal(err)
	}
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		tb.Fatal(err)
	}
	return out, nil
}

// snapshot returns the FSM's snapshot without its header. The header holds
// the last applied index, which a command the FSM refuses still advances (a
// refusal is a log entry like any other); everything else is the state.
func (ts *testService) snapshot(tb testing.TB) []byte {
	tb.Helper()
	s, err := ts.machine.Snapshot()
	if err != nil {
		tb.Fatal(err)
	}
	defer s.Release()
	sink := &memSink{}
	if err := s.Persist(sink); err != nil {
		tb.Fatal(err)
	}
	b, ok := bytes.CutPrefix(sink.Bytes(), []byte("KRSNAP"))
	if !ok {
		tb.Fatal("snapshot without its magic")
	}
	n, size := binary.Uvarint(b)
	if size <= 0 || uint64(len(b)-size) < n {
		tb.Fatal("snapshot with a corrupt header")
	}
	return b[size+int(n):]
}

type memSink struct{ bytes.Buffer }

func (m *memSink) ID() string    { return "mem" }
func (m *memSink) Cancel() error { return nil }
func (m *memSink) Close() error  { return nil }

var _ io.Writer = (*memSink)(nil)

// mustCall runs op and fails the test on an error.
func (ts *testService) mustCall(tb testing.TB, op string, in any) map[string]any {
	tb.Helper()
	out, e := ts.call(tb, op, in)
	if e != nil {
		tb.Fatalf("%s %v: %v", op, in, e)
	}
	return out
}

// newKey creates a key and returns its id and ARN.
func (ts *testService) newKey(tb testing.TB) (id, arn string) {
	tb.Helper()
	md := ts.mustCall(tb, "CreateKey", map[string]any{})["KeyMetadata"].(map[string]any)
	return md["KeyId"].(string), md["Arn"].(string)
}

// refused runs op, wants the AWS error typ (and msg, unless empty), and
// checks that the refusal left the replicated state as it was.
func (ts *testService) refused(tb testing.TB, op string, in any, typ, msg string) {
	tb.Helper()
	before := ts.snapshot(tb)
	_, e := ts.call(tb, op, in)
	if e == nil || e.Type != typ || (msg != "" && e.Message != msg) {
		tb.Fatalf("%s %v: got %v, want %s %q", op, in, e, typ, msg)
	}
	if e.Status < 400 {
		tb.Fatalf("%s: status %d", op, e.Status)
	}
	if !bytes.Equal(before, ts.snapshot(tb)) {
		tb.Fatalf("%s refused with %s but changed the state", op, e.Type)
	}
}

// missingKeyID is a well-formed key id that no test creates.
const missingKeyID = "00000000-0000-4000-8000-000000000000"

// fixedKeyID is a key the fuzzer can name: CreateKey picks random ids.
const fixedKeyID = "1234abcd-12ab-34cd-56ef-1234567890ab"

// createKeyWithID commits a key with a chosen id, as CreateKey would.
func (ts *testService) createKeyWithID(tb testing.TB, id string) {
	tb.Helper()
	kr, _ := ts.keyring()
	sealed, e := ts.newMaterial(kr, id, 1)
	if e != nil {
		tb.Fatal(e)
	}
	now := ts.now()
	k := &fsmpb.Key{
		KeyId: id, CreationDate: now.UnixNano(), KeyUsage: "ENCRYPT_DECRYPT", KeySpec: "SYMMETRIC_DEFAULT",
		KeyState: string(fsm.StateEnabled), Origin: "AWS_KMS",
		Material: []*fsmpb.KeyMaterial{{Version: 1, Sealed: sealed, CreateDate: now.UnixNano()}},
	}
	if e := ts.commit(context.Background(), Call{}, fsm.CmdCreateKey, &fsmpb.CreateKey{Key: k}, now); e != nil {
		tb.Fatal(e)
	}
}

// testRoot is the account's root principal, whom the default key policy allows everything.
var testRoot = Caller{AccessKeyID: "AKIATEST", PrincipalARN: "arn:aws:iam::111122223333:root"}
