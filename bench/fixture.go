package bench

import (
	"context"
	"crypto/rand"
	"fmt"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
)

// fixture is what the workers share read-only: the keys, a plaintext of
// Config.Size bytes and, for decrypt, one ciphertext of it per key.
type fixture struct {
	keyIDs      []string
	plaintext   []byte
	ciphertexts [][]byte // indexed like keyIDs; nil unless decrypt is driven
}

// prepare creates cfg.Keys keys and, when the run decrypts, encrypts the
// plaintext once under each. Keys are created up to cfg.Clients at a time.
func prepare(ctx context.Context, client *kms.Client, cfg Config) (*fixture, error) {
	fx := &fixture{keyIDs: make([]string, cfg.Keys), plaintext: make([]byte, cfg.Size)}
	if _, err := rand.Read(fx.plaintext); err != nil {
		return nil, err
	}
	needCiphertext := cfg.Op == OpDecrypt || cfg.Op == OpMixed
	if needCiphertext {
		fx.ciphertexts = make([][]byte, cfg.Keys)
	}
	desc := aws.String("keyraft bench")
	err := parallel(ctx, cfg.Keys, cfg.Clients, func(ctx context.Context, i int) error {
		out, err := client.CreateKey(ctx, &kms.CreateKeyInput{Description: desc})
		if err != nil {
			return fmt.Errorf("create key: %w", err)
		}
		fx.keyIDs[i] = aws.ToString(out.KeyMetadata.KeyId)
		if !needCiphertext {
			return nil
		}
		enc, err := client.Encrypt(ctx, &kms.EncryptInput{KeyId: out.KeyMetadata.KeyId, Plaintext: fx.plaintext})
		if err != nil {
			return fmt.Errorf("encrypt under new key %s: %w", fx.keyIDs[i], err)
		}
		fx.ciphertexts[i] = enc.CiphertextBlob
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
