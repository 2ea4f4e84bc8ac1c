package bench

import (
	"bytes"
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
)

// Run phases, stored in phase.
const (
	phaseWarmup int32 = iota
	phaseTimed
	phaseDone
)

// worker is one client: closed-loop, it issues the next request as soon as
// the previous one answers; open-loop (period > 0), it issues one every
// period from first on, late ones at once. Its fields are written only by
// its own goroutine; the progress reporter reads the atomic counters.
type worker struct {
	id      int
	op      Op
	client  *kms.Client    // the target's client: KMS,
	transit *transitClient // or transit (TargetOpenBao)
	fx      *fixture
	phase   *atomic.Int32 // written by Run, read after every op
	errs    *errorLog

	first  time.Time
	period time.Duration

	done   atomic.Uint64 // operations answered, any phase, any outcome
	failed atomic.Uint64 // of which errors

	// Counted only for operations completed in phaseTimed.
	hist   histogram // latency of successful operations, in nanoseconds
	ok     uint64
	errors uint64
}

var mixedOps = [...]Op{OpEncrypt, OpDecrypt, OpGenerateDataKey}

// run loops until ctx is done.
func (w *worker) run(ctx context.Context) {
	due := w.first
	for i := 0; ; i++ {
		start := time.Now()
		if w.period > 0 {
			if wait := time.Until(due); wait > 0 && !sleep(ctx, wait) {
				return
			}
			start, due = due, due.Add(w.period)
		}
		err := w.do(ctx, i)
		elapsed := time.Since(start)
		if ctx.Err() != nil {
			return // an answer cut short by the end of the run is not an error
		}
		w.done.Add(1)
		if err != nil {
			w.failed.Add(1)
		}
		if w.phase.Load() != phaseTimed {
			continue
		}
		if err != nil {
			w.errors++
			w.errs.add(err)
			continue
		}
		w.ok++
		w.hist.recordDuration(elapsed)
	}
}

// do issues the i-th request of this worker. Keys are taken in turn,
// offset by the worker id so that workers start on different keys.
func (w *worker) do(ctx context.Context, i int) error {
	op := w.op
	if op == OpMixed {
		op = mixedOps[i%len(mixedOps)]
	}
	k := (w.id + i) % len(w.fx.keyIDs)
	if w.transit != nil {
		return w.transit.do(ctx, op, w.fx, k)
	}
	keyID := &w.fx.keyIDs[k]
	switch op {
	case OpEncrypt:
		_, err := w.client.Encrypt(ctx, &kms.EncryptInput{KeyId: keyID, Plaintext: w.fx.plaintext, EncryptionAlgorithm: w.fx.plan.encAlg})
		return err
	case OpDecrypt:
		out, err := w.client.Decrypt(ctx, &kms.DecryptInput{KeyId: keyID, CiphertextBlob: w.fx.ciphertexts[k], EncryptionAlgorithm: w.fx.plan.encAlg})
		if err != nil {
			return err
		}
		if !bytes.Equal(out.Plaintext, w.fx.plaintext) {
			return fmt.Errorf("%w: decrypt returned %d bytes that differ from the %d encrypted", ErrBadResponse, len(out.Plaintext), len(w.fx.plaintext))
		}
		return nil
	case OpGenerateDataKey:
		out, err := w.client.GenerateDataKey(ctx, &kms.GenerateDataKeyInput{KeyId: keyID, KeySpec: types.DataKeySpecAes256})
		if err != nil {
			return err
		}
		if len(out.Plaintext) != 32 || len(out.CiphertextBlob) == 0 {
			return fmt.Errorf("%w: generate-data-key returned a %d-byte key and a %d-byte blob", ErrBadResponse, len(out.Plaintext), len(out.CiphertextBlob))
		}
		return nil
	case OpSign:
		out, err := w.client.Sign(ctx, &kms.SignInput{KeyId: keyID, Message: w.fx.plaintext, MessageType: types.MessageTypeRaw, SigningAlgorithm: w.fx.plan.signAlg})
		if err != nil {
			return err
		}
		if len(out.Signature) == 0 {
			return fmt.Errorf("%w: sign returned no signature", ErrBadResponse)
		}
		return nil
	case OpVerify:
		out, err := w.client.Verify(ctx, &kms.VerifyInput{KeyId: keyID, Message: w.fx.plaintext, MessageType: types.MessageTypeRaw,
			Signature: w.fx.signatures[k], SigningAlgorithm: w.fx.plan.signAlg})
		if err != nil {
			return err
		}
		if !out.SignatureValid {
			return fmt.Errorf("%w: verify found a valid signature invalid", ErrBadResponse)
		}
		return nil
	case OpGenerateMac:
		out, err := w.client.GenerateMac(ctx, &kms.GenerateMacInput{KeyId: keyID, Message: w.fx.plaintext, MacAlgorithm: w.fx.plan.macAlg})
		if err != nil {
			return err
		}
		if len(out.Mac) == 0 {
			return fmt.Errorf("%w: generate-mac returned no MAC", ErrBadResponse)
		}
		return nil
	case OpVerifyMac:
		out, err := w.client.VerifyMac(ctx, &kms.VerifyMacInput{KeyId: keyID, Message: w.fx.plaintext, Mac: w.fx.macs[k], MacAlgorithm: w.fx.plan.macAlg})
		if err != nil {
			return err
		}
		if !out.MacValid {
			return fmt.Errorf("%w: verify-mac found a valid MAC invalid", ErrBadResponse)
		}
		return nil
	}
	panic("bench: unknown op " + string(op)) // validate rejects it first
}
