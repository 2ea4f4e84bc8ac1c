package bench

import (
	"context"
	"crypto/rand"
	"fmt"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
)

// fixture is what the workers share read-only: the keys, a plaintext (or
// message) of Config.Size bytes and, for the operations that check
// something, one ciphertext, signature or MAC of it per key.
type fixture struct {
	plan        keyPlan
	keyIDs      []string
	plaintext   []byte
	ciphertexts [][]byte // indexed like keyIDs; nil unless decrypt is driven
	signatures  [][]byte // indexed like keyIDs; nil unless verify is driven
	macs        [][]byte // indexed like keyIDs; nil unless verify-mac is driven
}

// prepare creates cfg.Keys keys of the run's spec and usage (or takes
// cfg.KeyIDs) and, when the run checks something, makes what it checks
// once under each. Keys are created up to cfg.Clients at a time.
func prepare(ctx context.Context, client *kms.Client, cfg Config) (*fixture, error) {
	plan, err := planFor(cfg.Op, cfg.KeySpec)
	if err != nil {
		return nil, err
	}
	fx := &fixture{plan: plan, keyIDs: make([]string, cfg.Keys), plaintext: make([]byte, cfg.Size)}
	if _, err := rand.Read(fx.plaintext); err != nil {
		return nil, err
	}
	switch cfg.Op {
	case OpDecrypt, OpMixed:
		fx.ciphertexts = make([][]byte, cfg.Keys)
	case OpVerify:
		fx.signatures = make([][]byte, cfg.Keys)
	case OpVerifyMac:
		fx.macs = make([][]byte, cfg.Keys)
	}
	in := &kms.CreateKeyInput{Description: aws.String("keyraft bench")}
	if plan.spec != types.KeySpecSymmetricDefault {
		in.KeySpec, in.KeyUsage = plan.spec, plan.usage
	}
	err = parallel(ctx, cfg.Keys, cfg.Clients, func(ctx context.Context, i int) error {
		var id *string
		if len(cfg.KeyIDs) > 0 {
			id = aws.String(cfg.KeyIDs[i])
		} else {
			out, err := client.CreateKey(ctx, in)
			if err != nil {
				return fmt.Errorf("create %s key: %w", plan.spec, err)
			}
			id = out.KeyMetadata.KeyId
		}
		fx.keyIDs[i] = aws.ToString(id)
		switch {
		case fx.ciphertexts != nil:
			enc, err := client.Encrypt(ctx, &kms.EncryptInput{KeyId: id, Plaintext: fx.plaintext, EncryptionAlgorithm: plan.encAlg})
			if err != nil {
				return fmt.Errorf("encrypt under new key %s: %w", fx.keyIDs[i], err)
			}
			fx.ciphertexts[i] = enc.CiphertextBlob
		case fx.signatures != nil:
			sig, err := client.Sign(ctx, &kms.SignInput{KeyId: id, Message: fx.plaintext, MessageType: types.MessageTypeRaw, SigningAlgorithm: plan.signAlg})
			if err != nil {
				return fmt.Errorf("sign with new key %s: %w", fx.keyIDs[i], err)
			}
			fx.signatures[i] = sig.Signature
		case fx.macs != nil:
			mac, err := client.GenerateMac(ctx, &kms.GenerateMacInput{KeyId: id, Message: fx.plaintext, MacAlgorithm: plan.macAlg})
			if err != nil {
				return fmt.Errorf("generate a MAC with new key %s: %w", fx.keyIDs[i], err)
			}
			fx.macs[i] = mac.Mac
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return fx, nil
}

// parallel calls fn(ctx, i) for i in [0,n) on at most width goroutines and
// returns the first error, cancelling the rest.
func parallel(ctx context.Context, n, width int, fn func(context.Context, int) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(n, width) {
		wg.Go(func() {
			for i := range next {
				if err := fn(ctx, i); err != nil {
					cancel(err)
				}
			}
		})
	}
	for i := 0; i < n; i++ {
		select {
		case next <- i:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
	}
	close(next)
	wg.Wait()
	return context.Cause(ctx)
}
