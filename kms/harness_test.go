package kms

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"io"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/keyraft/keyraft/fsm"
	"github.com/keyraft/keyraft/fsm/fsmpb"
	"github.com/keyraft/keyraft/seal"
)

// testService runs the KMS operations against a real FSM fed in-process,
// in log order, as Raft would feed it on the leader, and a real keyring.
type testService struct {
	*Service
	mu     sync.Mutex
	index  uint64
	sealed atomic.Bool
}

func newTestService(tb testing.TB) *testService {
	tb.Helper()
	kr, err := seal.NewKeyring(rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	ts := &testService{}
	ts.Service = &Service{
		Region: "us-east-1", Account: "111122223333", FSM: fsm.New(),
		Propose:      ts.apply,
		VerifyLeader: func() error { return nil },
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
	if res, _ := ts.apply(context.Background(), cmd); res != nil {
		tb.Fatalf("init: %v", res)
	}
	return ts
}

func (ts *testService) apply(_ context.Context, cmd []byte) (any, error) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	ts.index++
	return ts.FSM.Apply(&raft.Log{Index: ts.index, Type: raft.LogCommand, Data: cmd}), nil
}

// call runs op with a JSON body built from in and decodes the answer into a map.
func (ts *testService) call(tb testing.TB, op string, in any) (map[string]any, *Error) {
	tb.Helper()
	body, err := json.Marshal(in)
	if err != nil {
		tb.Fatal(err)
	}
	res, e := ts.Handle(context.Background(), op, body)
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

func (ts *testService) snapshot(tb testing.TB) []byte {
	tb.Helper()
	s, err := ts.FSM.Snapshot()
	if err != nil {
		tb.Fatal(err)
	}
	sink := &memSink{}
	if err := s.Persist(sink); err != nil {
		tb.Fatal(err)
	}
	return sink.Bytes()
}

type memSink struct{ bytes.Buffer }

func (m *memSink) ID() string    { return "mem" }
func (m *memSink) Cancel() error { return nil }
func (m *memSink) Close() error  { return nil }

var _ io.Writer = (*memSink)(nil)
