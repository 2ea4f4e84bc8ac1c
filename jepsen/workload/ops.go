package workload

import (
	"context"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/smithy-go/middleware"

	"github.com/keyraft/keyraft/jepsen/history"
)

// clientState is one worker: its random source and current process id.
type clientState struct {
	w       *Workload
	r       *rand.Rand
	process int
}

func (w *Workload) newClientState(r *rand.Rand) *clientState {
	return &clientState{w: w, r: r, process: int(w.process.Add(1))}
}

// mix is the op distribution: mostly crypto and reads (which probe for
// stale state), with enough lifecycle writes to keep state moving.
var mix = []struct {
	op     string
	weight int
}{
	{history.Encrypt, 22}, {history.Decrypt, 20}, {history.GenerateDataKey, 10}, {history.DescribeKey, 12},
	{history.EnableKey, 11}, {history.DisableKey, 6}, {history.ScheduleDeletion, 1}, {history.CancelDeletion, 4},
	{history.RotateKeyOnDemand, 2}, {history.UpdateAlias, 6}, {history.CreateKey, 2},
}

// step runs one randomly chosen op on a random group.
func (c *clientState) step(ctx context.Context) {
	w := c.w
	w.mu.Lock()
	g := w.groups[c.r.IntN(len(w.groups))]
	keys := append([]string(nil), g.keys...)
	aliasExists := g.aliasExists
	var ct *sealed
	if len(g.cts) > 0 {
		x := g.cts[c.r.IntN(len(g.cts))]
		ct = &x
	}
	w.mu.Unlock()
	if len(keys) < 2 {
		c.createKey(ctx, g)
		return
	}
	key := keys[c.r.IntN(len(keys))]
	total := 0
	for _, m := range mix {
		total += m.weight
	}
	pick := c.r.IntN(total)
	var op string
	for _, m := range mix {
		if pick -= m.weight; pick < 0 {
			op = m.op
			break
		}
	}
	// Reads name the alias a quarter of the time, so alias moves are read.
	ref := key
	if aliasExists && c.r.IntN(4) == 0 {
		ref = g.alias
	}
	switch op {
	case history.Encrypt, history.GenerateDataKey:
		c.encrypt(ctx, g, op, ref)
	case history.Decrypt:
		if ct == nil {
			c.encrypt(ctx, g, history.Encrypt, ref)
			return
		}
		c.decrypt(ctx, g, *ct)
	case history.DescribeKey:
		c.describe(ctx, g, ref)
	case history.UpdateAlias:
		c.alias(ctx, g, key)
	case history.CreateKey:
		if len(keys) >= w.cfg.MaxKeys {
			c.describe(ctx, g, ref)
			return
		}
		c.createKey(ctx, g)
	default:
		c.lifecycle(ctx, g, op, key)
	}
}

// call sends one recorded op: it stamps the invocation, runs send with the
// op's token in the User-Agent, classifies the answer and, after fill has
// copied the result, stamps the completion. After an indeterminate op the
// worker continues as a new process, as Jepsen's clients do.
func (c *clientState) call(ctx context.Context, op *history.Op, send func(context.Context, *kms.Client, func(*kms.Options)) (middleware.Metadata, error), fill func()) outcome {
	w := c.w
	op.Process = c.process
	op.Node = w.nodes[c.r.IntN(len(w.nodes))]
	w.cfg.Recorder.Invoke(op)
	cctx, cancel := context.WithTimeout(ctx, w.cfg.OpTimeout)
	md, err := send(cctx, w.clients[op.Node], withToken(history.Token(w.cfg.Run, op.ID)))
	cancel()
	o := classify(err, md)
	op.Error, op.Message, op.RequestID = o.code, o.msg, o.requestID
	if o.status == history.OK && fill != nil {
		fill()
	}
	w.cfg.Recorder.Complete(op, o.status)
	if o.status == history.Info {
		c.process = int(w.process.Add(1))
	}
	// A key its window deleted stays gone: stop drawing it (the model
	// still knows it).
	if (o.code == "NotFoundException" && op.Key != "" && op.In.KeyRef == op.Key) ||
		(o.code == "InvalidCiphertextException" && op.Type == history.Decrypt) {
		w.forget(op.Group, op.Key)
	}
	return o
}

// forget drops a deleted key and its ciphertexts from a group's draw.
func (w *Workload) forget(group, key string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, g := range w.groups {
		if g.name == group {
			g.keys = slices.DeleteFunc(g.keys, func(k string) bool { return k == key })
			g.cts = slices.DeleteFunc(g.cts, func(s sealed) bool { return s.key == key })
		}
	}
}

func (c *clientState) createKey(ctx context.Context, g *group) {
	op := &history.Op{Type: history.CreateKey, Group: g.name}
	var out *kms.CreateKeyOutput
	c.call(ctx, op, func(ctx context.Context, k *kms.Client, o func(*kms.Options)) (middleware.Metadata, error) {
		var err error
		out, err = k.CreateKey(ctx, &kms.CreateKeyInput{Description: aws.String("jepsen " + c.w.cfg.Run + " " + g.name)}, o)
		return metadata(out, err)
	}, func() {
		op.Key = aws.ToString(out.KeyMetadata.KeyId)
		op.Out.KeyID, op.Out.State = op.Key, string(out.KeyMetadata.KeyState)
		c.w.mu.Lock()
		g.keys = append(g.keys, op.Key)
		g.created = append(g.created, op.Key)
		c.w.mu.Unlock()
	})
}

func (c *clientState) describe(ctx context.Context, g *group, ref string) {
	op := &history.Op{Type: history.DescribeKey, Group: g.name, In: history.Input{KeyRef: ref}}
	if ref != g.alias {
		op.Key = ref
	}
	var out *kms.DescribeKeyOutput
	c.call(ctx, op, func(ctx context.Context, k *kms.Client, o func(*kms.Options)) (middleware.Metadata, error) {
		var err error
		out, err = k.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(ref)}, o)
		return metadata(out, err)
	}, func() {
		op.Out.KeyID, op.Out.State = aws.ToString(out.KeyMetadata.KeyId), string(out.KeyMetadata.KeyState)
		op.Key = op.Out.KeyID
	})
}

// lifecycle runs EnableKey, DisableKey, ScheduleKeyDeletion (7 days: with a
// short test day the key is deleted during the run unless cancelled),
// CancelKeyDeletion or RotateKeyOnDemand.
func (c *clientState) lifecycle(ctx context.Context, g *group, typ, key string) outcome {
	op := &history.Op{Type: typ, Group: g.name, Key: key, In: history.Input{KeyRef: key}}
	if typ == history.ScheduleDeletion {
		op.In.Days = 7
	}
	var state types.KeyState
	return c.call(ctx, op, func(ctx context.Context, k *kms.Client, o func(*kms.Options)) (middleware.Metadata, error) {
		id := aws.String(key)
		switch typ {
		case history.EnableKey:
			return metadata(k.EnableKey(ctx, &kms.EnableKeyInput{KeyId: id}, o))
		case history.DisableKey:
			return metadata(k.DisableKey(ctx, &kms.DisableKeyInput{KeyId: id}, o))
		case history.ScheduleDeletion:
			out, err := k.ScheduleKeyDeletion(ctx, &kms.ScheduleKeyDeletionInput{KeyId: id, PendingWindowInDays: aws.Int32(op.In.Days)}, o)
			if err == nil {
				state = out.KeyState
			}
			return metadata(out, err)
		case history.CancelDeletion:
			return metadata(k.CancelKeyDeletion(ctx, &kms.CancelKeyDeletionInput{KeyId: id}, o))
		case history.RotateKeyOnDemand:
			return metadata(k.RotateKeyOnDemand(ctx, &kms.RotateKeyOnDemandInput{KeyId: id}, o))
		}
		return middleware.Metadata{}, fmt.Errorf("not a lifecycle op: %s", typ)
	}, func() { op.Out.State = string(state) })
}

// alias creates the group's alias, or points it at target.
func (c *clientState) alias(ctx context.Context, g *group, target string) {
	c.w.mu.Lock()
	exists := g.aliasExists
	c.w.mu.Unlock()
	typ := history.UpdateAlias
	if !exists {
		typ = history.CreateAlias
	}
	op := &history.Op{Type: typ, Group: g.name, Key: target, In: history.Input{Alias: g.alias, TargetKey: target}}
	o := c.call(ctx, op, func(ctx context.Context, k *kms.Client, o func(*kms.Options)) (middleware.Metadata, error) {
		if typ == history.CreateAlias {
			return metadata(k.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: aws.String(g.alias), TargetKeyId: aws.String(target)}, o))
		}
		return metadata(k.UpdateAlias(ctx, &kms.UpdateAliasInput{AliasName: aws.String(g.alias), TargetKeyId: aws.String(target)}, o))
	}, nil)
	if o.status == history.OK || o.code == "AlreadyExistsException" {
		c.w.mu.Lock()
		g.aliasExists = true
		c.w.mu.Unlock()
	}
}

// encrypt runs Encrypt or GenerateDataKey with a unique plaintext and
// encryption context, and keeps the ciphertext for Decrypt and the final
// durability check.
func (c *clientState) encrypt(ctx context.Context, g *group, typ, ref string) {
	op := &history.Op{Type: typ, Group: g.name, In: history.Input{KeyRef: ref}}
	if ref != g.alias {
		op.Key = ref
	}
	var keyARN string
	var blob, plaintext []byte
	c.call(ctx, op, func(ctx context.Context, k *kms.Client, o func(*kms.Options)) (middleware.Metadata, error) {
		op.In.Context = map[string]string{"jepsen-op": strconv.FormatInt(op.ID, 10), "group": g.name}
		if typ == history.Encrypt {
			op.In.Plaintext = []byte(fmt.Sprintf("plaintext %s-%d", c.w.cfg.Run, op.ID))
			out, err := k.Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String(ref), Plaintext: op.In.Plaintext, EncryptionContext: op.In.Context}, o)
			if err == nil {
				keyARN, blob = aws.ToString(out.KeyId), out.CiphertextBlob
			}
			return metadata(out, err)
		}
		out, err := k.GenerateDataKey(ctx, &kms.GenerateDataKeyInput{KeyId: aws.String(ref), KeySpec: types.DataKeySpecAes256, EncryptionContext: op.In.Context}, o)
		if err == nil {
			keyARN, blob, plaintext = aws.ToString(out.KeyId), out.CiphertextBlob, out.Plaintext
		}
		return metadata(out, err)
	}, func() {
		op.Key = keyIDOf(keyARN)
		op.Out = history.Output{KeyID: op.Key, Ciphertext: blob, Plaintext: plaintext}
		blobKey, version, ok := blobHeader(blob)
		op.Out.Version = version
		if !ok || blobKey != op.Key {
			// The answer names one key and the blob another: record it so
			// that the model rejects it.
			op.Out.KeyID = "blob-names:" + blobKey
		}
		c.w.mu.Lock()
		g.cts = append(g.cts, sealed{op: op.ID, key: op.Key, blob: blob, context: op.In.Context})
		if len(g.cts) > recentCiphertexts {
			g.cts = g.cts[1:]
		}
		c.w.mu.Unlock()
	})
}

// decrypt opens a ciphertext this run was given, without naming the key:
// the blob names it.
func (c *clientState) decrypt(ctx context.Context, g *group, s sealed) {
	op := &history.Op{Type: history.Decrypt, Group: g.name, Key: s.key,
		In: history.Input{Ciphertext: s.blob, Context: s.context, SourceOp: s.op}}
	var out *kms.DecryptOutput
	c.call(ctx, op, func(ctx context.Context, k *kms.Client, o func(*kms.Options)) (middleware.Metadata, error) {
		var err error
		out, err = k.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: s.blob, EncryptionContext: s.context}, o)
		return metadata(out, err)
	}, func() {
		op.Out.KeyID, op.Out.Plaintext = keyIDOf(aws.ToString(out.KeyId)), out.Plaintext
	})
}

// metadata takes an SDK output's ResultMetadata (where the request id is);
// every output struct has that field.
func metadata[T any](out *T, err error) (middleware.Metadata, error) {
	if out == nil {
		return middleware.Metadata{}, err
	}
	md, _ := reflect.ValueOf(out).Elem().FieldByName("ResultMetadata").Interface().(middleware.Metadata)
	return md, err
}
