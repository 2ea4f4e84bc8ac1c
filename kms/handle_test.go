package kms

import (
	"context"
	"net/http"
	"reflect"

	"github.com/keyraft/keyraft/internal/awserr"
	"github.com/keyraft/keyraft/transport/awsjson"
)

// Handle runs operation op on a request body as the gateway does (which
// kms cannot import): the body decoded with AWS's member names into the
// operation's request, the caller in its Call. Operations are the
// Service's methods of that name taking (context, Call, *request).
func (ts *testService) Handle(ctx context.Context, caller Caller, op string, body []byte) (any, *awserr.Error) {
	return ts.HandleCall(ctx, Call{Caller: caller, Op: op}, body)
}

// HandleCall is Handle for a Call made by the test (one with a Recorder).
func (ts *testService) HandleCall(ctx context.Context, call Call, body []byte) (any, *awserr.Error) {
	op := call.Op
	m := reflect.ValueOf(ts.Service).MethodByName(op)
	if !m.IsValid() || m.Type().NumIn() != 3 || m.Type().In(2).Kind() != reflect.Pointer || m.Type().NumOut() != 2 {
		return nil, awserr.New("UnknownOperationException", http.StatusBadRequest, "")
	}
	req := reflect.New(m.Type().In(2).Elem())
	if e := awsjson.Decode(body, req.Interface()); e != nil {
		return nil, awserr.New("SerializationException", http.StatusBadRequest, "%s", e.Message)
	}
	out := m.Call([]reflect.Value{reflect.ValueOf(ctx), reflect.ValueOf(call), req})
	e, _ := out[1].Interface().(*awserr.Error)
	return out[0].Interface(), e
}
