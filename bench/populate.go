package bench

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
)

// Populate fills a cluster to the scale issue 18 measures at: Keys KMS
// keys, Users IAM users and Grants grants on one of the keys, through the
// API (KMS through the SDK, IAM through keyraft's SigV4-signed IAM API),
// Clients requests in flight at a time. Every change is a Raft entry with
// its audit event, as in production; nothing is written behind the
// cluster's back.
//
// Two of the users carry credentials for the Decrypt comparison:
// "bench-policy", whose IAM policy allows kms:*, and "bench-grantee",
// with no policy at all but one of the grants (Encrypt and Decrypt on the
// grant key). The other grants go to the other users in turn.
type PopulateConfig struct {
	Endpoint                     string
	Region                       string // default us-east-1
	AccessKeyID, SecretAccessKey string // the account's root, or a user allowed kms:* and iam:*
	Keys, Users, Grants          int
	Clients                      int       // default 64
	Progress                     io.Writer // one line per phase and every 10 s, if not nil
}

// Credentials are an access key of a user Populate made.
type Credentials struct {
	User            string `json:"user"`
	AccessKeyID     string `json:"access_key_id"`
	SecretAccessKey string `json:"secret_access_key"`
}

// Population is what Populate made and how long each part took.
type Population struct {
	GrantKeyID string      `json:"grant_key_id"`
	Policy     Credentials `json:"policy_user"`
	Grantee    Credentials `json:"grantee_user"`
	Keys       int         `json:"keys"`
	Users      int         `json:"users"`
	Grants     int         `json:"grants"`
	// Seconds per phase.
	UsersSeconds  float64 `json:"users_seconds"`
	KeysSeconds   float64 `json:"keys_seconds"`
	GrantsSeconds float64 `json:"grants_seconds"`
}

const (
	policyUser  = "bench-policy"
	granteeUser = "bench-grantee"
	allowKMS    = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:*","Resource":"*"}]}`
	// iamTarget is keyraft's IAM API (iam.TargetPrefix; bench imports no
	// keyraft package).
	iamTarget = "KeyraftIAM."
)

// Populate makes what cfg asks for and returns it.
func Populate(ctx context.Context, cfg PopulateConfig) (Population, error) {
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	if cfg.Clients == 0 {
		cfg.Clients = 64
	}
	switch {
	case cfg.Endpoint == "" || cfg.AccessKeyID == "" || cfg.SecretAccessKey == "":
		return Population{}, fmt.Errorf("%w: populate needs an endpoint and an access key", ErrConfig)
	case cfg.Keys < 1 || cfg.Users < 2 || cfg.Grants < 1 || cfg.Clients < 1:
		return Population{}, fmt.Errorf("%w: populate needs at least 1 key, 2 users, 1 grant and 1 client", ErrConfig)
	}
	clients, tr := newClients(Config{Endpoints: []string{cfg.Endpoint}, Region: cfg.Region, Clients: cfg.Clients,
		AccessKeyID: cfg.AccessKeyID, SecretAccessKey: cfg.SecretAccessKey, RequestTimeout: time.Minute})
	defer tr.CloseIdleConnections()
	p := &populator{cfg: cfg, kms: clients[0], http: &http.Client{Transport: tr, Timeout: time.Minute}}
	out := Population{Keys: cfg.Keys, Users: cfg.Users, Grants: cfg.Grants}

	start := time.Now()
	arns := make([]string, cfg.Users)
	err := p.phase(ctx, "users", cfg.Users, func(ctx context.Context, i int) error {
		name := userName(i)
		var u struct{ User struct{ Arn string } }
		if err := p.iam(ctx, "CreateUser", map[string]string{"UserName": name}, &u); err != nil {
			return fmt.Errorf("create user %s: %w", name, err)
		}
		arns[i] = u.User.Arn
		return nil
	})
	if err != nil {
		return out, err
	}
	if err := p.iam(ctx, "PutUserPolicy", map[string]string{"UserName": policyUser, "PolicyName": "kms", "PolicyDocument": allowKMS}, nil); err != nil {
		return out, fmt.Errorf("put the policy of %s: %w", policyUser, err)
	}
	for _, c := range []*Credentials{&out.Policy, &out.Grantee} {
		c.User = policyUser
		if c == &out.Grantee {
			c.User = granteeUser
		}
		var ak struct {
			AccessKey struct{ AccessKeyId, SecretAccessKey string }
		}
		if err := p.iam(ctx, "CreateAccessKey", map[string]string{"UserName": c.User}, &ak); err != nil {
			return out, fmt.Errorf("create an access key for %s: %w", c.User, err)
		}
		c.AccessKeyID, c.SecretAccessKey = ak.AccessKey.AccessKeyId, ak.AccessKey.SecretAccessKey
	}
	out.UsersSeconds = time.Since(start).Seconds()

	start = time.Now()
	keyIDs := make([]string, cfg.Keys)
	err = p.phase(ctx, "keys", cfg.Keys, func(ctx context.Context, i int) error {
		k, err := p.kms.CreateKey(ctx, &kms.CreateKeyInput{Description: aws.String("keyraft bench populate")})
		if err != nil {
			return fmt.Errorf("create key: %w", err)
		}
		keyIDs[i] = aws.ToString(k.KeyMetadata.KeyId)
		return nil
	})
	if err != nil {
		return out, err
	}
	out.GrantKeyID = keyIDs[0]
	out.KeysSeconds = time.Since(start).Seconds()

	start = time.Now()
	err = p.phase(ctx, "grants", cfg.Grants, func(ctx context.Context, i int) error {
		// Grant 0 is the grantee's; the others go to the other users in
		// turn (user 1, the policy user, needs none), each named apart:
		// CreateGrant answers a grant identical to one that exists with
		// that one instead of making another.
		grantee := arns[0]
		switch {
		case i > 0 && len(arns) > 2:
			grantee = arns[2+(i-1)%(len(arns)-2)]
		case i > 0:
			grantee = arns[1]
		}
		_, err := p.kms.CreateGrant(ctx, &kms.CreateGrantInput{
			KeyId: aws.String(out.GrantKeyID), GranteePrincipal: aws.String(grantee), Name: aws.String(fmt.Sprintf("bench-%06d", i)),
			Operations: []types.GrantOperation{types.GrantOperationEncrypt, types.GrantOperationDecrypt},
		})
		if err != nil {
			return fmt.Errorf("create grant %d: %w", i, err)
		}
		return nil
	})
	out.GrantsSeconds = time.Since(start).Seconds()
	return out, err
}

// userName is the i-th user: the grantee, the policy user, then the rest.
func userName(i int) string {
	switch i {
	case 0:
		return granteeUser
	case 1:
		return policyUser
	}
	return fmt.Sprintf("bench-user-%05d", i)
}

type populator struct {
	cfg  PopulateConfig
	kms  *kms.Client
	http *http.Client
}

// phase runs fn n times, cfg.Clients at a time, reporting progress.
func (p *populator) phase(ctx context.Context, what string, n int, fn func(context.Context, int) error) error {
	var done atomic.Int64
	stop := make(chan struct{})
	defer close(stop)
	start := time.Now()
	if p.cfg.Progress != nil {
		go func() {
			t := time.NewTicker(10 * time.Second)
			defer t.Stop()
			for {
				select {
				case <-stop:
					return
				case <-t.C:
					d := done.Load()
					fmt.Fprintf(p.cfg.Progress, "populate: %s %d/%d (%.0f/s)\n", what, d, n, float64(d)/time.Since(start).Seconds())
				}
			}
		}()
	}
	err := parallel(ctx, n, p.cfg.Clients, func(ctx context.Context, i int) error {
		if err := fn(ctx, i); err != nil {
			return err
		}
		done.Add(1)
		return nil
	})
	if err == nil && p.cfg.Progress != nil {
		fmt.Fprintf(p.cfg.Progress, "populate: %d %s in %.1f s (%.0f/s)\n", n, what, time.Since(start).Seconds(), float64(n)/time.Since(start).Seconds())
	}
	return err
}

// iam sends one IAM operation, signed as the IAM service, and decodes its
// answer into out (if not nil).
func (p *populator) iam(ctx context.Context, op string, in, out any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(p.cfg.Endpoint, "/")+"/", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", iamTarget+op)
	sum := sha256.Sum256(body)
	creds := aws.Credentials{AccessKeyID: p.cfg.AccessKeyID, SecretAccessKey: p.cfg.SecretAccessKey}
	if err := v4.NewSigner().SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), "iam", p.cfg.Region, time.Now()); err != nil {
		return err
	}
	resp, err := p.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: HTTP %d: %s", op, resp.StatusCode, bytes.TrimSpace(raw))
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(raw, out)
}

// PageKeys lists every key through ListKeys, limit keys a page, as a
// client paging through them all does, and returns how many keys and
// pages it read and how long it took.
func PageKeys(ctx context.Context, cfg Config, limit int32) (keys, pages int, took time.Duration, err error) {
	cfg = cfg.withDefaults()
	clients, tr := newClients(cfg)
	defer tr.CloseIdleConnections()
	start := time.Now()
	in := &kms.ListKeysInput{Limit: aws.Int32(limit)}
	for {
		out, err := clients[0].ListKeys(ctx, in)
		if err != nil {
			return keys, pages, time.Since(start), fmt.Errorf("ListKeys page %d: %w", pages+1, err)
		}
		keys += len(out.Keys)
		pages++
		if !out.Truncated {
			return keys, pages, time.Since(start), nil
		}
		in.Marker = out.NextMarker
	}
}
