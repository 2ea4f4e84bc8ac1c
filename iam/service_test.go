package iam

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/keyraft/keyraft/fsm"
	"github.com/keyraft/keyraft/fsm/fsmpb"
	"github.com/keyraft/keyraft/internal/awserr"
	"github.com/keyraft/keyraft/seal"
)

// testService runs the IAM operations against a real FSM fed in-process,
// in log order, as Raft would feed it on the leader, and a real keyring.
type testService struct {
	*Service
	machine *fsm.FSM // the state machine the Service reads and proposes to
	mu      sync.Mutex
	index   uint64
}

const account = "111122223333"

var root = Caller{PrincipalARN: "arn:aws:iam::" + account + ":root"}

func user(name string) Caller {
	return Caller{PrincipalARN: "arn:aws:iam::" + account + ":user/" + name, UserName: name}
}

func newTestService(t *testing.T) *testService {
	t.Helper()
	kr, err := seal.NewKeyring(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ts := &testService{machine: fsm.New(nil)}
	ts.Service = &Service{Account: account, State: ts.machine.Query(), Propose: ts.apply,
		Keyring: func() (*seal.Keyring, error) { return kr, nil }}
	cmd, _ := fsm.NewCommand(fsm.CmdInit, &fsmpb.Init{Shares: 1, Threshold: 1, SealedKeyring: []byte("k"),
		RootAccessKey: &fsmpb.AccessKey{AccessKeyId: "AKIAROOT"}}, time.Now())
	if _, err := ts.apply(context.Background(), cmd); err != nil {
		t.Fatalf("init: %v", err)
	}
	return ts
}

func (ts *testService) apply(_ context.Context, cmd []byte) (fsm.Result, error) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	ts.index++
	return fsm.ResultOf(ts.machine.Apply(&raft.Log{Index: ts.index, Type: raft.LogCommand, Data: cmd}))
}

func (ts *testService) call(t *testing.T, c Caller, op string, in map[string]any) (map[string]any, *awserr.Error) {
	t.Helper()
	body, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	h, ok := testOperations[op]
	if !ok {
		t.Fatalf("no operation %s", op)
	}
	call := &Call{Caller: c, Op: op}
	res, e := ts.Run(call, func() (any, *awserr.Error) { return h(ts.Service, context.Background(), call, body) })
	if e != nil {
		return nil, e
	}
	b, _ := json.Marshal(res)
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out, nil
}

// testOperations decode a request as the gateway's table does (the
// gateway imports this package, so its table cannot be used here).
var testOperations = map[string]func(*Service, context.Context, *Call, []byte) (any, *awserr.Error){
	"CreateUser":      decoded((*Service).CreateUser),
	"ListUsers":       decoded((*Service).ListUsers),
	"CreateAccessKey": decoded((*Service).CreateAccessKey),
	"DeleteAccessKey": decoded((*Service).DeleteAccessKey),
	"ListAccessKeys":  decoded((*Service).ListAccessKeys),
	"PutUserPolicy":   decoded((*Service).PutUserPolicy),
	"GetUserPolicy":   decoded((*Service).GetUserPolicy),
}

func decoded[T any](h func(*Service, context.Context, *Call, *T) (any, *awserr.Error)) func(*Service, context.Context, *Call, []byte) (any, *awserr.Error) {
	return func(s *Service, ctx context.Context, call *Call, body []byte) (any, *awserr.Error) {
		req := new(T)
		if err := json.Unmarshal(body, req); err != nil {
			return nil, awserr.New("ValidationError", 400, "%v", err)
		}
		return h(s, ctx, call, req)
	}
}

func (ts *testService) must(t *testing.T, c Caller, op string, in map[string]any) map[string]any {
	t.Helper()
	out, e := ts.call(t, c, op, in)
	if e != nil {
		t.Fatalf("%s %v as %s: %v", op, in, c.PrincipalARN, e)
	}
	return out
}

// newUser creates a user as the root, with an identity policy unless doc is "".
func (ts *testService) newUser(t *testing.T, name, doc string) {
	t.Helper()
	ts.must(t, root, "CreateUser", map[string]any{"UserName": name})
	if doc != "" {
		ts.must(t, root, "PutUserPolicy", map[string]any{"UserName": name, "PolicyName": "p", "PolicyDocument": doc})
	}
}

// snapshot is the FSM's state, to check that a refusal changed nothing.
func (ts *testService) snapshot(t *testing.T) string {
	t.Helper()
	var names []string
	for _, u := range ts.State.Users() {
		names = append(names, u.Name)
		for _, p := range u.Policies {
			names = append(names, p.Name+"="+p.Document)
		}
		for _, k := range ts.State.UserAccessKeys(u.Name) {
			names = append(names, k.AccessKeyID)
		}
	}
	return strings.Join(names, ",")
}

func (ts *testService) denied(t *testing.T, c Caller, op string, in map[string]any, resource string) {
	t.Helper()
	before := ts.snapshot(t)
	_, e := ts.call(t, c, op, in)
	if e == nil || e.Type != "AccessDenied" || !strings.Contains(e.Message, "on resource: "+resource+" ") {
		t.Fatalf("%s %v as %s: got %v, want AccessDenied on %s", op, in, c.PrincipalARN, e, resource)
	}
	if ts.snapshot(t) != before {
		t.Fatalf("%s was refused but changed the state", op)
	}
}

func policyDoc(stmts ...string) string {
	return `{"Version":"2012-10-17","Statement":[` + strings.Join(stmts, ",") + `]}`
}

func userARN(name string) string { return "arn:aws:iam::" + account + ":user/" + name }

// requests are a valid request of every IAM operation on user name.
func requests(name string) map[string]map[string]any {
	return map[string]map[string]any{
		"CreateUser":      {"UserName": name},
		"ListUsers":       {},
		"CreateAccessKey": {"UserName": name},
		"DeleteAccessKey": {"UserName": name, "AccessKeyId": "AKIAAAAAAAAAAAAAAAAA"},
		"ListAccessKeys":  {"UserName": name},
		"PutUserPolicy":   {"UserName": name, "PolicyName": "p", "PolicyDocument": policyDoc(`{"Effect":"Allow","Action":"kms:Encrypt","Resource":"*"}`)},
		"GetUserPolicy":   {"UserName": name, "PolicyName": "p"},
	}
}

// TestEveryOperationIsAuthorizedOnItsUser: every IAM operation is decided
// against the ARN of the user it acts on. {Allow iam:* on *} with {Deny
// iam:* on user/breakglass} may do anything to other users and nothing to
// breakglass; a user without a policy may do nothing.
func TestEveryOperationIsAuthorizedOnItsUser(t *testing.T) {
	ts := newTestService(t)
	ts.newUser(t, "breakglass", "")
	ts.newUser(t, "nobody", "")
	ts.newUser(t, "admin", policyDoc(
		`{"Effect":"Allow","Action":"iam:*","Resource":"*"}`,
		`{"Effect":"Deny","Action":"iam:*","Resource":"arn:aws:iam::`+account+`:user/breakglass"}`))
	if len(requests("x")) != len(testOperations) {
		t.Fatalf("requests covers %d operations, the service has %d", len(requests("x")), len(testOperations))
	}
	for op, in := range requests("breakglass") {
		if op == "ListUsers" {
			ts.denied(t, user("nobody"), op, in, "*")
			ts.must(t, user("admin"), op, in) // names no user: on "*"
			continue
		}
		ts.denied(t, user("admin"), op, in, userARN("breakglass"))
		ts.denied(t, user("nobody"), op, in, userARN("breakglass"))
	}
	// The same admin acts on other users.
	ts.must(t, user("admin"), "CreateUser", map[string]any{"UserName": "carol"})
	ak := ts.must(t, user("admin"), "CreateAccessKey", map[string]any{"UserName": "carol"})["AccessKey"].(map[string]any)
	ts.must(t, user("admin"), "PutUserPolicy", requests("carol")["PutUserPolicy"])
	ts.must(t, user("admin"), "GetUserPolicy", requests("carol")["GetUserPolicy"])
	ts.must(t, user("admin"), "ListAccessKeys", map[string]any{"UserName": "carol"})
	ts.must(t, user("admin"), "DeleteAccessKey", map[string]any{"UserName": "carol", "AccessKeyId": ak["AccessKeyId"]})
}

// TestOwnAccessKeys: Allow iam:*AccessKey* on the caller's own ARN lets it
// manage its own keys, named or not (UserName omitted is the caller), and
// no one else's; a key id of another user is not the caller's to delete.
func TestOwnAccessKeys(t *testing.T) {
	ts := newTestService(t)
	ts.newUser(t, "bob", "")
	bobKey := ts.must(t, root, "CreateAccessKey", map[string]any{"UserName": "bob"})["AccessKey"].(map[string]any)["AccessKeyId"]
	ts.newUser(t, "alice", policyDoc(`{"Effect":"Allow","Action":["iam:CreateAccessKey","iam:ListAccessKeys","iam:DeleteAccessKey"],"Resource":"`+userARN("alice")+`"}`))
	alice := user("alice")
	named := ts.must(t, alice, "CreateAccessKey", map[string]any{"UserName": "alice"})["AccessKey"].(map[string]any)
	implicit := ts.must(t, alice, "CreateAccessKey", map[string]any{})["AccessKey"].(map[string]any)
	if named["UserName"] != "alice" || implicit["UserName"] != "alice" {
		t.Fatalf("access keys made for %v and %v, want alice", named["UserName"], implicit["UserName"])
	}
	if keys := ts.must(t, alice, "ListAccessKeys", map[string]any{})["AccessKeyMetadata"].([]any); len(keys) != 2 {
		t.Fatalf("ListAccessKeys of herself: %v", keys)
	}
	ts.denied(t, alice, "CreateAccessKey", map[string]any{"UserName": "bob"}, userARN("bob"))
	ts.denied(t, alice, "ListAccessKeys", map[string]any{"UserName": "bob"}, userARN("bob"))
	ts.denied(t, alice, "DeleteAccessKey", map[string]any{"UserName": "bob", "AccessKeyId": bobKey}, userARN("bob"))
	before := ts.snapshot(t)
	if _, e := ts.call(t, alice, "DeleteAccessKey", map[string]any{"AccessKeyId": bobKey}); e == nil || e.Type != "NoSuchEntity" {
		t.Fatalf("alice deleting bob's key without naming him: %v, want NoSuchEntity", e)
	}
	if ts.snapshot(t) != before {
		t.Fatal("a refused DeleteAccessKey changed the state")
	}
	ts.must(t, alice, "DeleteAccessKey", map[string]any{"AccessKeyId": implicit["AccessKeyId"]})
	ts.denied(t, alice, "CreateUser", map[string]any{"UserName": "eve"}, userARN("eve"))
	// The root is no IAM user: it names the user.
	if _, e := ts.call(t, root, "CreateAccessKey", map[string]any{}); e == nil || e.Type != "ValidationError" {
		t.Fatalf("the root creating an access key for no one: %v", e)
	}
}
