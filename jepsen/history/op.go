// Package history holds the record of one run: every operation a client
// invoked, with what it sent, what came back and when, as JSON lines.
package history

import (
	"fmt"
	"time"
)

// Status is how an operation ended, in Jepsen's terms.
type Status string

const (
	// OK: the server answered with success.
	OK Status = "ok"
	// Fail: the server answered with an error that proves the operation did
	// not take effect (e.g. DisabledException, NotFoundException).
	Fail Status = "fail"
	// Info: indeterminate. A timeout, a reset connection or a 5xx: the
	// operation may or may not have taken effect, and may still do so later.
	Info Status = "info"
)

// KMS operation names recorded in Op.Type, as the API spells them.
const (
	CreateKey         = "CreateKey"
	DescribeKey       = "DescribeKey"
	EnableKey         = "EnableKey"
	DisableKey        = "DisableKey"
	ScheduleDeletion  = "ScheduleKeyDeletion"
	CancelDeletion    = "CancelKeyDeletion"
	RotateKeyOnDemand = "RotateKeyOnDemand"
	CreateAlias       = "CreateAlias"
	UpdateAlias       = "UpdateAlias"
	Encrypt           = "Encrypt"
	Decrypt           = "Decrypt"
	GenerateDataKey   = "GenerateDataKey"
	ListKeyRotations  = "ListKeyRotations"
)

// IsCrypto reports whether the operation uses key material, so succeeds only
// on an Enabled key.
func IsCrypto(typ string) bool {
	return typ == Encrypt || typ == Decrypt || typ == GenerateDataKey
}

// Op is one operation: invocation and completion in a single record, written
// when the operation completes (or when the run gives up on it).
type Op struct {
	// ID is unique within the run. The client puts it in the User-Agent of
	// the request (see Token), so the audit log can be matched against ops
	// that never got an answer.
	ID int64 `json:"id"`
	// Process is the logical client. After an indeterminate op the client
	// continues as a new process, as Jepsen does, so one process never has
	// two ops open at once.
	Process int `json:"process"`
	// Type is the KMS operation name.
	Type string `json:"type"`
	// Group is the linearizability partition: a few keys and the one alias
	// that moves between them (see checker/model.go).
	Group string `json:"group,omitempty"`
	// Key is the key id (not the ARN) the op is about, when known: what the
	// client named, or what the answer named when the client sent an alias.
	Key string `json:"key,omitempty"`
	// Node is the node the request was sent to (it may forward it).
	Node string `json:"node,omitempty"`

	In  Input  `json:"in"`
	Out Output `json:"out"`

	Status Status `json:"status"`
	// Error is the AWS error code (the __type), or a transport error class
	// such as "timeout" when no answer came.
	Error   string `json:"error,omitempty"`
	Message string `json:"message,omitempty"`
	// RequestID is x-amzn-RequestId of the answer: keyraft sets it, after its
	// audit event committed, to that event's requestID.
	RequestID string `json:"request_id,omitempty"`

	InvokeWall   time.Time `json:"invoke_wall"`
	CompleteWall time.Time `json:"complete_wall"`
	// InvokeNS and CompleteNS are monotonic nanoseconds since the run began;
	// the checkers order operations by these, never by the wall clock.
	InvokeNS   int64 `json:"invoke_ns"`
	CompleteNS int64 `json:"complete_ns"`
}

// Input is what the client sent. Only the members of Op.Type are set.
type Input struct {
	// KeyRef is the KeyId sent: a key id, or alias/NAME.
	KeyRef    string            `json:"key_ref,omitempty"`
	Alias     string            `json:"alias,omitempty"`
	TargetKey string            `json:"target_key,omitempty"`
	Plaintext []byte            `json:"plaintext,omitempty"`
	Context   map[string]string `json:"context,omitempty"`
	// Ciphertext, for Decrypt, and SourceOp, the op that produced it.
	Ciphertext []byte `json:"ciphertext,omitempty"`
	SourceOp   int64  `json:"source_op,omitempty"`
	Days       int32  `json:"days,omitempty"`
}

// Output is what the server answered on success.
type Output struct {
	KeyID      string `json:"key_id,omitempty"`
	State      string `json:"state,omitempty"`
	Ciphertext []byte `json:"ciphertext,omitempty"`
	// Plaintext is Decrypt's answer or GenerateDataKey's data key: test data,
	// kept so the ciphertext checker can compare.
	Plaintext []byte `json:"plaintext,omitempty"`
	// Version is the key material version named in a returned ciphertext
	// (docs/api.md: the blob header carries it); 1 + the rotations so far.
	Version uint32 `json:"version,omitempty"`
	// Count is ListKeyRotations' number of rotations.
	Count int `json:"count,omitempty"`
}

// Unsent reports a definite failure that never reached a leader: the
// connection was refused (code "dial") or a sealed node refused it before
// forwarding. Such an op neither changed nor observed any key.
func (o *Op) Unsent() bool {
	return o.Status == Fail && (o.Error == "dial" || o.Error == "ServiceUnavailableException")
}

// Token is the User-Agent product the client adds to an op's request
// ("jepsen/RUN-ID"), which the audit event records as userAgent.
func Token(run string, id int64) string { return fmt.Sprintf("jepsen/%s-%d", run, id) }

// Latency is how long the op took.
func (o *Op) Latency() time.Duration { return time.Duration(o.CompleteNS - o.InvokeNS) }

func (o *Op) String() string {
	s := fmt.Sprintf("op %d p%d %s", o.ID, o.Process, o.Type)
	if o.Key != "" {
		s += " key=" + o.Key
	} else if o.In.KeyRef != "" {
		s += " ref=" + o.In.KeyRef
	}
	if o.In.Alias != "" {
		s += " alias=" + o.In.Alias + "->" + o.In.TargetKey
	}
	s += fmt.Sprintf(" on %s [%.3fs, %.3fs] %s", o.Node, float64(o.InvokeNS)/1e9, float64(o.CompleteNS)/1e9, o.Status)
	if o.Error != "" {
		s += " " + o.Error
	}
	if o.Out.State != "" {
		s += " state=" + o.Out.State
	}
	if o.Out.Version != 0 {
		s += fmt.Sprintf(" version=%d", o.Out.Version)
	}
	if o.RequestID != "" {
		s += " req=" + o.RequestID
	}
	return s
}
