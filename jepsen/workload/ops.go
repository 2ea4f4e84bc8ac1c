package workload

import (
	"context"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strconv"
	"time"

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

// isWrite: the op may change a group's state (the linearizability checker
// gives an indeterminate one Return = +inf).
func isWrite(typ string) bool {
	switch typ {
	case history.EnableKey, history.DisableKey, history.ScheduleDeletion, history.CancelDeletion,
		history.RotateKeyOnDemand, history.CreateAlias, history.UpdateAlias:
		return true
	}
	return false
}

// draw picks an op type from the mix.
func (c *clientState) draw() string {
	total := 0
	for _, m := range mix {
		total += m.weight
	}
	pick := c.r.IntN(total)
	for _, m := range mix {
		if pick -= m.weight; pick < 0 {
			return m.op
		}
	}
	return history.DescribeKey
}

// turn is what a worker will do, decided under w.mu: the group, a copy of
// what the worker needs of it, and the op.
type turn struct {
	g           *group
	op          string // "" when no group can take an op now
	keys        []string
	aliasExists bool
	ct          *sealed
	// write: a write was reserved in g.writing; step releases it.
	write bool
}

// plan picks a group for an op of type typ and reserves what the op uses.
// It retires expired groups and puts fresh ones in their slots. A group
// without two keys gets a CreateKey (at most two in flight), one without
// its alias a CreateAlias (one at a time); a write that the group's
// indeterminate budget cannot take becomes a DescribeKey.
func (w *Workload) plan(r *rand.Rand, typ string, now time.Time) turn {
	w.mu.Lock()
	defer w.mu.Unlock()
	start := r.IntN(len(w.active))
	for i := range w.active {
		slot := (start + i) % len(w.active)
		g := w.active[slot]
		if w.expired(g, now) {
			g.retired = true
			g = w.newGroup(now)
			w.active[slot] = g
		}
		t := turn{g: g, op: typ, keys: slices.Clone(g.keys), aliasExists: g.aliasExists}
		switch {
		case len(g.keys)+g.creating < 2:
			g.creating++
			t.op = history.CreateKey
		case len(g.keys) == 0:
			continue // its first keys are being made: try another group
		case len(g.keys) >= 2 && !g.aliasExists && !g.aliasing:
			g.aliasing = true
			t.op = history.CreateAlias
		case typ == history.CreateKey && len(g.keys) < w.cfg.MaxKeys:
			g.creating++
		case typ == history.CreateKey:
			t.op = history.DescribeKey
		}
		if isWrite(t.op) {
			if g.writing+g.indeterminate >= w.cfg.Indeterminate {
				if t.op == history.CreateAlias {
					g.aliasing = false
				}
				t.op = history.DescribeKey
			} else {
				g.writing++
				t.write = true
			}
		}
		if len(g.cts) > 0 {
			x := g.cts[r.IntN(len(g.cts))]
			t.ct = &x
		}
		g.ops++
		return t
	}
	return turn{}
}

// done releases what plan reserved for t.
func (w *Workload) done(t turn) {
	w.mu.Lock()
	defer w.mu.Unlock()
	switch {
	case t.op == history.CreateKey:
		t.g.creating--
	case t.op == history.CreateAlias:
		t.g.aliasing = false
	}
	if t.write {
		t.g.writing--
	}
}

// step runs one randomly chosen op on a random group.
func (c *clientState) step(ctx context.Context) {
	w := c.w
	t := w.plan(c.r, c.draw(), time.Now())
	if t.op == "" {
		return
	}
	defer w.done(t)
	g := t.g
	if t.op == history.CreateKey {
		c.createKey(ctx, g)
		return
	}
	if t.op == history.CreateAlias {
		c.alias(ctx, g, t.keys[0])
		return
	}
	key := t.keys[c.r.IntN(len(t.keys))]
	// Reads name the alias a quarter of the time, so alias moves are read.
	ref := key
	if t.aliasExists && c.r.IntN(4) == 0 {
		ref = g.alias
	}
	switch t.op {
	case history.Encrypt, history.GenerateDataKey:
		c.encrypt(ctx, g, t.op, ref)
	case history.Decrypt:
		if t.ct == nil {
			c.encrypt(ctx, g, history.Encrypt, ref)
			return
		}
		c.decrypt(ctx, g, *t.ct)
	case history.DescribeKey:
		c.describe(ctx, g, ref)
	case history.UpdateAlias:
		c.alias(ctx, g, key)
	default:
		c.lifecycle(ctx, g, t.op, key)
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
		if isWrite(op.Type) {
			w.mu.Lock()
			if g := w.byName[op.Group]; g != nil {
				g.indeterminate++
			}
			w.mu.Unlock()
		}
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
	if g := w.byName[group]; g != nil {
		g.keys = slices.DeleteFunc(g.keys, func(k string) bool { return k == key })
		g.cts = slices.DeleteFunc(g.cts, func(s sealed) bool { return s.key == key })
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
