package workload

import (
	"context"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/smithy-go/middleware"

	"github.com/keyraft/keyraft/jepsen/checker"
	"github.com/keyraft/keyraft/jepsen/history"
)

// finalTries bounds the retries of one final-phase op that gets no answer.
const finalTries = 20

// Final runs once the nemesis has stopped and every fault is healed. For
// every key the workload created it reads the state; it cancels pending
// deletions and enables disabled keys, so every ciphertext under a key that
// still exists must decrypt; and it reads the rotation count, which the
// audit checker compares with the audited rotations. Every request is a
// recorded op. It returns the keys found deleted.
func (w *Workload) Final(ctx context.Context) (map[string]bool, error) {
	c := w.newClientState(rand.New(rand.NewPCG(uint64(w.cfg.Seed), 2)))
	deleted := map[string]bool{}
	keys := w.Keys()
	ids := make([]string, 0, len(keys))
	for k := range keys {
		ids = append(ids, k)
	}
	slices.Sort(ids)
	for _, key := range ids {
		g := w.group(keys[key])
		state, err := c.finalDescribe(ctx, g, key)
		if err != nil {
			return deleted, err
		}
		if state == "" {
			deleted[key] = true
			continue
		}
		if state == "PendingDeletion" {
			// Refused only if the window ended meanwhile: then the key is
			// gone, which the next describe of a later run would show.
			c.retry(ctx, func() outcome { return c.lifecycle(ctx, g, history.CancelDeletion, key) })
		}
		if state != "Enabled" {
			c.retry(ctx, func() outcome { return c.lifecycle(ctx, g, history.EnableKey, key) })
		}
		c.retry(ctx, func() outcome { return c.listRotations(ctx, g, key) })
	}
	return deleted, ctx.Err()
}

func (w *Workload) group(name string) *group {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.byName[name]
}

// retry repeats an op that got no answer (each attempt is its own op).
func (c *clientState) retry(ctx context.Context, do func() outcome) outcome {
	var o outcome
	for range finalTries {
		if o = do(); o.status != history.Info || ctx.Err() != nil {
			return o
		}
		time.Sleep(500 * time.Millisecond)
	}
	return o
}

// finalDescribe returns the key's state, "" when it no longer exists.
func (c *clientState) finalDescribe(ctx context.Context, g *group, key string) (string, error) {
	for range finalTries {
		op := &history.Op{Type: history.DescribeKey, Group: g.name, Key: key, In: history.Input{KeyRef: key}}
		var out *kms.DescribeKeyOutput
		o := c.call(ctx, op, func(ctx context.Context, k *kms.Client, o func(*kms.Options)) (middleware.Metadata, error) {
			var err error
			out, err = k.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(key)}, o)
			return metadata(out, err)
		}, func() {
			op.Out.KeyID, op.Out.State = aws.ToString(out.KeyMetadata.KeyId), string(out.KeyMetadata.KeyState)
		})
		switch {
		case o.status == history.OK:
			return op.Out.State, nil
		case o.code == "NotFoundException":
			return "", nil
		case ctx.Err() != nil:
			return "", ctx.Err()
		}
		time.Sleep(500 * time.Millisecond)
	}
	return "", context.DeadlineExceeded
}

func (c *clientState) listRotations(ctx context.Context, g *group, key string) outcome {
	op := &history.Op{Type: history.ListKeyRotations, Group: g.name, Key: key, In: history.Input{KeyRef: key}}
	var out *kms.ListKeyRotationsOutput
	return c.call(ctx, op, func(ctx context.Context, k *kms.Client, o func(*kms.Options)) (middleware.Metadata, error) {
		var err error
		out, err = k.ListKeyRotations(ctx, &kms.ListKeyRotationsInput{KeyId: aws.String(key), Limit: aws.Int32(1000)}, o)
		return metadata(out, err)
	}, func() { op.Out.Count = len(out.Rotations) })
}

// DecryptFunc is the ciphertext checker's way to the cluster: a Decrypt
// sent to the given node (which forwards it to the leader), retried while
// the cluster answers nothing definite. These requests carry no op token
// and are not part of the history.
func (w *Workload) DecryptFunc(ctx context.Context) checker.DecryptFunc {
	return func(node string, ct checker.Ciphertext) checker.DecryptOutcome {
		for attempt := range 8 {
			cctx, cancel := context.WithTimeout(ctx, w.cfg.OpTimeout)
			out, err := w.clients[node].Decrypt(cctx, &kms.DecryptInput{CiphertextBlob: ct.Blob, EncryptionContext: ct.Context})
			cancel()
			md, err := metadata(out, err)
			o := classify(err, md)
			switch o.status {
			case history.OK:
				return checker.DecryptOutcome{Plaintext: out.Plaintext}
			case history.Fail:
				return checker.DecryptOutcome{Err: o.code}
			}
			if ctx.Err() != nil {
				break
			}
			time.Sleep(time.Duration(attempt+1) * 250 * time.Millisecond)
		}
		return checker.DecryptOutcome{Err: "unavailable"}
	}
}
