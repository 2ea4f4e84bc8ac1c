package bench

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/kms/types"
)

// transitKeyType is the type of the transit keys a run creates: AES-256 in
// GCM with a 96-bit nonce, the engine's default and what KMS's
// SYMMETRIC_DEFAULT is.
const transitKeyType = "aes256-gcm96"

// maxTransitAnswer bounds what is read of one answer: a 4 KiB plaintext
// comes back as some 5.5 KiB of base64 ciphertext plus the envelope.
const maxTransitAnswer = 1 << 20

// transitClient speaks to the transit secrets engine of one OpenBao (or
// Vault) endpoint, mounted at transit/, as an application using the HTTP API
// does: a JSON body with base64 plaintext, the token in X-Vault-Token, one
// request per call, no retries. Workers on an endpoint share it.
type transitClient struct {
	hc    *http.Client
	base  string // the endpoint's URL of the mount, ending in "/"
	token string
}

// newTransitClients builds one transit client per endpoint, sharing the same
// kind of transport as the KMS clients (HTTP/1.1, an idle connection kept
// for every worker).
func newTransitClients(cfg Config) ([]*transitClient, *http.Transport) {
	tr := newTransport(cfg)
	hc := &http.Client{Transport: tr, Timeout: cfg.RequestTimeout}
	clients := make([]*transitClient, len(cfg.Endpoints))
	for i, ep := range cfg.Endpoints {
		clients[i] = &transitClient{hc: hc, base: strings.TrimSuffix(ep, "/") + "/v1/transit/", token: cfg.Token}
	}
	return clients, tr
}

// validateTransit checks what TargetOpenBao adds to validate: a token, and
// an op and key the transit engine has an equivalent of.
func (c Config) validateTransit(plan keyPlan) error {
	switch {
	case c.Token == "":
		return fmt.Errorf("%w: target openbao needs a token", ErrConfig)
	case c.Op != OpEncrypt && c.Op != OpDecrypt && c.Op != OpGenerateDataKey && c.Op != OpMixed:
		return fmt.Errorf("%w: target openbao drives encrypt, decrypt, generate-data-key or mixed, not %s", ErrConfig, c.Op)
	case plan.spec != types.KeySpecSymmetricDefault:
		return fmt.Errorf("%w: target openbao uses %s transit keys: key spec %s is not one", ErrConfig, transitKeyType, plan.spec)
	}
	return nil
}

// transitRequest is the body of every request a run sends; encoding/json
// writes the plaintext as standard base64, as the engine expects.
type transitRequest struct {
	Type       string `json:"type,omitempty"`
	Plaintext  []byte `json:"plaintext,omitempty"`
	Ciphertext string `json:"ciphertext,omitempty"`
	Bits       int    `json:"bits,omitempty"`
}

// transitAnswer is the part of an answer a run checks.
type transitAnswer struct {
	Data struct {
		Ciphertext string `json:"ciphertext"`
		Plaintext  []byte `json:"plaintext"`
	} `json:"data"`
}

// transitError is an answer other than 2xx, with the engine's messages.
type transitError struct {
	status int
	errors []string
}

func (e *transitError) Error() string {
	return fmt.Sprintf("HTTP %d: %s", e.status, strings.Join(e.errors, "; "))
}

// post sends in to path under the mount and, if out is not nil, decodes the
// answer into it. The body is read to its end either way, so the connection
// goes back to the pool.
func (c *transitClient) post(ctx context.Context, path string, in *transitRequest, out *transitAnswer) error {
	body, err := json.Marshal(in)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("X-Vault-Token", c.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxTransitAnswer))
	_, _ = io.Copy(io.Discard, resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		var e struct {
			Errors []string `json:"errors"`
		}
		if json.Unmarshal(b, &e) != nil || len(e.Errors) == 0 {
			e.Errors = []string{http.StatusText(resp.StatusCode)}
		}
		return &transitError{status: resp.StatusCode, errors: e.Errors}
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("%w: %s: %w", ErrBadResponse, path, err)
	}
	return nil
}

// encrypt returns the ciphertext of plaintext under key, checked to be one.
func (c *transitClient) encrypt(ctx context.Context, key string, plaintext []byte) (string, error) {
	var out transitAnswer
	if err := c.post(ctx, "encrypt/"+key, &transitRequest{Plaintext: plaintext}, &out); err != nil {
		return "", err
	}
	if !strings.HasPrefix(out.Data.Ciphertext, "vault:v") {
		return "", fmt.Errorf("%w: encrypt returned no ciphertext", ErrBadResponse)
	}
	return out.Data.Ciphertext, nil
}

// do is worker.do for a transit endpoint: the i-th request of op on the
// fixture's k-th key, with the same checks as through KMS.
func (c *transitClient) do(ctx context.Context, op Op, fx *fixture, k int) error {
	key := fx.keyIDs[k]
	switch op {
	case OpEncrypt:
		_, err := c.encrypt(ctx, key, fx.plaintext)
		return err
	case OpDecrypt:
		var out transitAnswer
		if err := c.post(ctx, "decrypt/"+key, &transitRequest{Ciphertext: string(fx.ciphertexts[k])}, &out); err != nil {
			return err
		}
		if !bytes.Equal(out.Data.Plaintext, fx.plaintext) {
			return fmt.Errorf("%w: decrypt returned %d bytes that differ from the %d encrypted", ErrBadResponse, len(out.Data.Plaintext), len(fx.plaintext))
		}
		return nil
	case OpGenerateDataKey:
		var out transitAnswer
		if err := c.post(ctx, "datakey/plaintext/"+key, &transitRequest{Bits: 256}, &out); err != nil {
			return err
		}
		if len(out.Data.Plaintext) != 32 || !strings.HasPrefix(out.Data.Ciphertext, "vault:v") {
			return fmt.Errorf("%w: datakey returned a %d-byte key and a %d-byte ciphertext", ErrBadResponse, len(out.Data.Plaintext), len(out.Data.Ciphertext))
		}
		return nil
	}
	panic("bench: transit cannot drive " + string(op)) // validateTransit rejects it first
}

// prepareTransit is prepare for a transit endpoint: it creates cfg.Keys
// keys named keyraft-bench-<random> (left in place, like KMS keys) and, for
// decrypt or mixed, encrypts the plaintext once under each.
func prepareTransit(ctx context.Context, c *transitClient, cfg Config) (*fixture, error) {
	plan, err := planFor(cfg.Op, cfg.KeySpec)
	if err != nil {
		return nil, err
	}
	plan.spec = transitKeyType
	fx := &fixture{plan: plan, keyIDs: make([]string, cfg.Keys), plaintext: make([]byte, cfg.Size)}
	if _, err := rand.Read(fx.plaintext); err != nil {
		return nil, err
	}
	if cfg.Op == OpDecrypt || cfg.Op == OpMixed {
		fx.ciphertexts = make([][]byte, cfg.Keys)
	}
	err = parallel(ctx, cfg.Keys, cfg.Clients, func(ctx context.Context, i int) error {
		suffix := make([]byte, 8)
		if _, err := rand.Read(suffix); err != nil {
			return err
		}
		name := "keyraft-bench-" + hex.EncodeToString(suffix)
		if err := c.post(ctx, "keys/"+name, &transitRequest{Type: transitKeyType}, nil); err != nil {
			return fmt.Errorf("create transit key %s: %w", name, err)
		}
		fx.keyIDs[i] = name
		if fx.ciphertexts != nil {
			ct, err := c.encrypt(ctx, name, fx.plaintext)
			if err != nil {
				return fmt.Errorf("encrypt under new transit key %s: %w", name, err)
			}
			fx.ciphertexts[i] = []byte(ct)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return fx, nil
}
