package checker

import (
	"github.com/keyraft/keyraft/jepsen/history"
)

// builder makes doctored histories: each op is invoked at the current time
// and completes dur ms later; seq ops advance the clock past themselves.
type builder struct {
	ops []history.Op
	now int64 // ms
	id  int64
}

const ms = int64(1e6)

const (
	keyA = "11111111-1111-1111-1111-111111111111"
	keyB = "22222222-2222-2222-2222-222222222222"
)

// at adds an op spanning [start, end] ms.
func (b *builder) at(start, end int64, op history.Op) *history.Op {
	b.id++
	op.ID = b.id
	if op.Group == "" {
		op.Group = "g1"
	}
	if op.Node == "" {
		op.Node = "n1"
	}
	if op.Status == "" {
		op.Status = history.OK
	}
	op.InvokeNS, op.CompleteNS = start*ms, end*ms
	op.RequestID = ""
	if op.Status != history.Info {
		op.RequestID = "req-" + string(rune('a'+b.id%26)) + string(rune('a'+b.id/26))
	}
	b.ops = append(b.ops, op)
	b.now = max(b.now, end)
	return &b.ops[len(b.ops)-1]
}

// seq adds an op after everything so far, taking 10 ms.
func (b *builder) seq(op history.Op) *history.Op {
	start := b.now + 1
	return b.at(start, start+10, op)
}

func create(key string) history.Op {
	return history.Op{Type: history.CreateKey, Key: key, Out: history.Output{KeyID: key}}
}

func onKey(typ, key string) history.Op {
	return history.Op{Type: typ, Key: key, In: history.Input{KeyRef: key}}
}

func failed(op history.Op, code string) history.Op {
	op.Status, op.Error = history.Fail, code
	return op
}

func info(op history.Op) history.Op {
	op.Status, op.Error = history.Info, "timeout"
	return op
}

func describeOK(key, state string) history.Op {
	op := onKey(history.DescribeKey, key)
	op.Out = history.Output{KeyID: key, State: state}
	return op
}

func encryptOK(key string, version uint32, plaintext string) history.Op {
	op := onKey(history.Encrypt, key)
	op.In.Plaintext = []byte(plaintext)
	op.In.Context = map[string]string{"jepsen": plaintext}
	op.Out = history.Output{KeyID: key, Version: version, Ciphertext: []byte("ct:" + plaintext)}
	return op
}

func aliasOp(typ, target string) history.Op {
	return history.Op{Type: typ, In: history.Input{Alias: "alias/g1", TargetKey: target}}
}

func describeAlias(target string) history.Op {
	return history.Op{Type: history.DescribeKey, Key: target, In: history.Input{KeyRef: "alias/g1"},
		Out: history.Output{KeyID: target, State: "Enabled"}}
}

// clean is a sequential history every checker accepts.
func clean() *builder {
	b := &builder{}
	b.seq(create(keyA))
	b.seq(create(keyB))
	b.seq(encryptOK(keyA, 1, "p1"))
	b.seq(onKey(history.RotateKeyOnDemand, keyA))
	b.seq(encryptOK(keyA, 2, "p2"))
	b.seq(aliasOp(history.CreateAlias, keyA))
	b.seq(describeAlias(keyA))
	b.seq(aliasOp(history.UpdateAlias, keyB))
	b.seq(describeAlias(keyB))
	b.seq(onKey(history.DisableKey, keyA))
	b.seq(failed(onKey(history.Encrypt, keyA), "DisabledException"))
	b.seq(describeOK(keyA, "Disabled"))
	b.seq(onKey(history.EnableKey, keyA))
	b.seq(encryptOK(keyA, 2, "p3"))
	b.seq(onKey(history.ScheduleDeletion, keyB))
	b.seq(failed(aliasOp(history.UpdateAlias, keyB), "KMSInvalidStateException"))
	b.seq(onKey(history.CancelDeletion, keyB))
	b.seq(describeOK(keyB, "Disabled"))
	rot := onKey(history.ListKeyRotations, keyA)
	rot.Out.Count = 1
	b.seq(rot)
	return b
}
