package kms

import (
	"context"
	"net/http"
	"reflect"

	"github.com/keyraft/keyraft/transport/awsjson"
)

// Handle runs operation op on a request body as the gateway does (which
// kms cannot import): the body decoded with AWS's member names into the
// operation's request, the caller in the context. Operations are the
// Service's methods of that name taking (context, *request).
func (ts *testService) Handle(ctx context.Context, caller Caller, op string, body []byte) (any, *Error) {
	m := reflect.ValueOf(ts.Service).MethodByName(op)
	if !m.IsValid() || m.Type().NumIn() != 2 || m.Type().In(1).Kind() != reflect.Pointer || m.Type().NumOut() != 2 {
		return nil, newErr("UnknownOperationException", http.StatusBadRequest, "")
	}
	req := reflect.New(m.Type().In(1).Elem())
	if e := awsjson.Decode(body, req.Interface()); e != nil {
		return nil, newErr("SerializationException", http.StatusBadRequest, "%s", e.Message)
	}
	out := m.Call([]reflect.Value{reflect.ValueOf(WithCall(ctx, caller, op)), req})
	e, _ := out[1].Interface().(*Error)
	return out[0].Interface(), e
}
