package bench

import (
	"fmt"
	"io"
	"slices"
	"time"
)

// Op is the KMS operation a worker issues.
type Op string

// The operations Run can drive. OpMixed issues encrypt, decrypt and
// generate-data-key in turn, one third each.
const (
	OpEncrypt         Op = "encrypt"
	OpDecrypt         Op = "decrypt"
	OpGenerateDataKey Op = "generate-data-key"
	OpMixed           Op = "mixed"
	OpSign            Op = "sign"
	OpVerify          Op = "verify"
	OpGenerateMac     Op = "generate-mac"
	OpVerifyMac       Op = "verify-mac"
)

// Ops lists every operation, for -h.
var Ops = []Op{OpEncrypt, OpDecrypt, OpGenerateDataKey, OpMixed, OpSign, OpVerify, OpGenerateMac, OpVerifyMac}

// MaxSize is the largest plaintext KMS Encrypt accepts.
const MaxSize = 4096

// Target is the API a run speaks.
type Target string

// The targets Run can drive.
const (
	// TargetKMS is the AWS KMS API (keyraft, local-kms, AWS), through the
	// aws-sdk-go-v2 client.
	TargetKMS Target = "kms"
	// TargetOpenBao is the transit secrets engine of OpenBao (or Vault)
	// mounted at transit/, over HTTP with a token (transit.go).
	TargetOpenBao Target = "openbao"
)

// Config describes one benchmark run. Zero values take the defaults noted.
type Config struct {
	// Target is the API the endpoints speak. Default TargetKMS.
	Target Target
	// Endpoints are the base URLs; workers are spread round-robin over them.
	Endpoints []string
	// Region signs requests (SigV4 credential scope). Default us-east-1.
	Region string
	// AccessKeyID, SecretAccessKey and SessionToken are static credentials.
	AccessKeyID, SecretAccessKey, SessionToken string
	// Token is the X-Vault-Token of TargetOpenBao's requests.
	Token string

	// Op is the operation to drive. Default OpEncrypt.
	Op Op
	// KeySpec is the spec of the keys created: "" is the op's default
	// (SYMMETRIC_DEFAULT, ECC_NIST_P256 for sign and verify, HMAC_256 for
	// the MAC operations); SpecsFor lists what each op takes.
	KeySpec string
	// Size is the plaintext size in bytes for encrypt and decrypt, the
	// message size for sign, verify and the MAC operations: 1..MaxSize,
	// and at most the OAEP limit with an RSA key. Default 4096.
	Size int
	// Clients is the number of concurrent workers. Default 16.
	Clients int
	// Rate, when above zero, makes the load open-loop: requests are sent
	// at this many per second in total, each worker on its own schedule
	// whatever the answers do, and a request's latency counts from when
	// it was due (so a worker that falls behind shows the wait). Zero:
	// closed loop, each worker sending as soon as it has an answer.
	Rate float64
	// Duration is the timed phase. Default 10s.
	Duration time.Duration
	// Warmup runs before the timed phase and is not counted. Default 1s;
	// a negative value means no warm-up.
	Warmup time.Duration
	// Keys is the number of KMS keys created and spread over. Default 1.
	Keys int
	// KeyIDs, if not empty, are existing keys to spread over instead of
	// creating any (they must suit Op and KeySpec); Keys is their number.
	KeyIDs []string
	// ServerPIDs are local server processes whose CPU time is measured.
	ServerPIDs []int

	// Progress, if not nil, receives one line per second while running.
	Progress io.Writer
	// RequestTimeout bounds one request. Default 30s.
	RequestTimeout time.Duration
}

func (c Config) withDefaults() Config {
	if c.Target == "" {
		c.Target = TargetKMS
	}
	if c.Region == "" {
		c.Region = "us-east-1"
	}
	if c.Op == "" {
		c.Op = OpEncrypt
	}
	if c.Size == 0 {
		c.Size = MaxSize
	}
	if c.Clients == 0 {
		c.Clients = 16
	}
	if c.Duration == 0 {
		c.Duration = 10 * time.Second
	}
	if c.Warmup == 0 {
		c.Warmup = time.Second
	} else if c.Warmup < 0 {
		c.Warmup = 0
	}
	if len(c.KeyIDs) > 0 {
		c.Keys = len(c.KeyIDs)
	}
	if c.Keys == 0 {
		c.Keys = 1
	}
	if c.RequestTimeout == 0 {
		c.RequestTimeout = 30 * time.Second
	}
	return c
}

func (c Config) validate() error {
	if !slices.Contains(Ops, c.Op) {
		return fmt.Errorf("%w: op %q: want encrypt, decrypt, generate-data-key, mixed, sign, verify, generate-mac or verify-mac", ErrConfig, c.Op)
	}
	plan, err := planFor(c.Op, c.KeySpec)
	if err != nil {
		return err
	}
	switch c.Target {
	case TargetKMS:
		if c.AccessKeyID == "" || c.SecretAccessKey == "" {
			return fmt.Errorf("%w: access key id and secret access key are required", ErrConfig)
		}
	case TargetOpenBao:
		if err := c.validateTransit(plan); err != nil {
			return err
		}
	default:
		return fmt.Errorf("%w: target %q: want kms or openbao", ErrConfig, c.Target)
	}
	if c.Size > plan.maxSize && c.Size <= MaxSize {
		return fmt.Errorf("%w: size %d: %s with RSAES_OAEP_SHA_256 takes at most %d bytes (set -size)", ErrConfig, c.Size, plan.spec, plan.maxSize)
	}
	switch {
	case len(c.Endpoints) == 0:
		return fmt.Errorf("%w: no endpoint", ErrConfig)
	case c.Size < 1 || c.Size > MaxSize:
		return fmt.Errorf("%w: size %d: want 1..%d", ErrConfig, c.Size, MaxSize)
	case c.Clients < 1:
		return fmt.Errorf("%w: clients %d: want at least 1", ErrConfig, c.Clients)
	case c.Duration < 0:
		return fmt.Errorf("%w: duration %s: want a positive duration", ErrConfig, c.Duration)
	case c.Keys < 1:
		return fmt.Errorf("%w: keys %d: want at least 1", ErrConfig, c.Keys)
	case c.Rate < 0 || c.Rate != c.Rate || c.Rate > 1e6:
		return fmt.Errorf("%w: rate %v: want 0 (closed loop) or a rate up to 1e6 per second", ErrConfig, c.Rate)
	}
	for _, e := range c.Endpoints {
		if e == "" {
			return fmt.Errorf("%w: empty endpoint", ErrConfig)
		}
	}
	for _, p := range c.ServerPIDs {
		if p <= 0 {
			return fmt.Errorf("%w: server pid %d", ErrConfig, p)
		}
	}
	return nil
}
