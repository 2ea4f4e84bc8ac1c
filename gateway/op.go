package gateway

import (
	"context"
	"net/http"
	"strings"

	"github.com/keyraft/keyraft/audit"
	"github.com/keyraft/keyraft/iam"
	"github.com/keyraft/keyraft/internal/awserr"
	"github.com/keyraft/keyraft/kms"
	"github.com/keyraft/keyraft/transport/awsjson"
)

// API is the service an operation belongs to.
type API uint8

const (
	KMS API = iota + 1
	IAM
)

// Resource is the kind of thing an operation acts on, which its event
// names among its resources.
type Resource uint8

const (
	NoResource Resource = iota
	Key                 // a KMS key: the event names its ARN
	User                // an IAM user
)

// Services are the handlers an operation runs on.
type Services struct {
	KMS *kms.Service
	IAM *iam.Service
}

// Op is one operation. Its request is decoded by Decode and run by Run;
// Parameters is what its event records of that same request.
type Op struct {
	Name     string
	API      API
	ReadOnly bool
	Resource Resource
	// Audited are the request members CloudTrail records for the
	// operation, by their AWS names. Anything else a request carries
	// (plaintext, ciphertext, grant tokens, unknown members) is never
	// recorded.
	Audited []string

	newRequest func() any
	run        func(ctx context.Context, s Services, c kms.Caller, rec *audit.Recorder, req any) (any, *awserr.Error)
}

// Action is the operation's IAM action, as policies name it.
func (o *Op) Action() string {
	if o.API == IAM {
		return "iam:" + o.Name
	}
	return "kms:" + o.Name
}

// EventSource is the event source CloudTrail gives the operation's events.
func (o *Op) EventSource() string {
	if o.API == IAM {
		return "iam.amazonaws.com"
	}
	return "kms.amazonaws.com"
}

// Decode reads a request body into the operation's request, with AWS's
// exact member names. A body it refuses is a SerializationException.
func (o *Op) Decode(body []byte) (any, *awserr.Error) {
	req := o.newRequest()
	if e := awsjson.Decode(body, req); e != nil {
		typ := "SerializationException"
		if o.API == IAM {
			typ = "ValidationError"
		}
		return nil, &awserr.Error{Type: typ, Message: e.Message, Status: http.StatusBadRequest}
	}
	return req, nil
}

// Run runs the operation for an authenticated caller on a request Decode
// made; a write carries the request's event through rec. Every operation
// authorizes the caller before it changes anything.
func (o *Op) Run(ctx context.Context, s Services, c kms.Caller, rec *audit.Recorder, req any) (any, *awserr.Error) {
	return o.run(ctx, s, c, rec, req)
}

// kmsOp is an entry for a KMS operation: h runs on the decoded request
// for the Call made of the caller, the operation's name and rec.
func kmsOp[T any](name string, readOnly bool, res Resource, h func(*kms.Service, context.Context, kms.Call, *T) (any, *awserr.Error), audited ...string) *Op {
	return &Op{
		Name: name, API: KMS, ReadOnly: readOnly, Resource: res, Audited: audited,
		newRequest: func() any { return new(T) },
		run: func(ctx context.Context, s Services, c kms.Caller, rec *audit.Recorder, req any) (any, *awserr.Error) {
			return h(s.KMS, ctx, kms.Call{Caller: c, Op: name, Recorder: rec}, req.(*T))
		},
	}
}

// iamOp is an entry for an IAM operation: h authorizes the caller's
// identity policies against the user it acts on (iam.Service.Run).
func iamOp[T any](name string, readOnly bool, h func(*iam.Service, context.Context, *iam.Call, *T) (any, *awserr.Error), audited ...string) *Op {
	return &Op{
		Name: name, API: IAM, ReadOnly: readOnly, Resource: User, Audited: audited,
		newRequest: func() any { return new(T) },
		run: func(ctx context.Context, s Services, c kms.Caller, rec *audit.Recorder, req any) (any, *awserr.Error) {
			call := &iam.Call{
				Caller: iam.Caller{PrincipalARN: c.PrincipalARN, UserName: c.UserName, SecureTransport: c.SecureTransport},
				Op:     name, Recorder: rec,
			}
			res, e := s.IAM.Run(call, func() (any, *awserr.Error) {
				return h(s.IAM, ctx, call, req.(*T))
			})
			if e != nil {
				return nil, e
			}
			return res, nil
		},
	}
}

// Target prefixes of X-Amz-Target.
const (
	kmsTarget = "TrentService."
	iamTarget = iam.TargetPrefix
)

// Lookup finds the operation an X-Amz-Target header names. api is the
// service the header names even when the operation is unknown (0 for
// neither), and name the operation's name as sent.
func Lookup(target string) (op *Op, api API, name string) {
	if name, ok := strings.CutPrefix(target, iamTarget); ok {
		return byTarget[IAM][name], IAM, name
	}
	if name, ok := strings.CutPrefix(target, kmsTarget); ok {
		return byTarget[KMS][name], KMS, name
	}
	return nil, 0, ""
}

var byTarget = func() map[API]map[string]*Op {
	m := map[API]map[string]*Op{KMS: {}, IAM: {}}
	for _, op := range operations {
		if m[op.API][op.Name] != nil {
			panic("gateway: operation listed twice: " + op.Name)
		}
		m[op.API][op.Name] = op
	}
	return m
}()

// Operations lists every operation.
func Operations() []*Op { return operations }
