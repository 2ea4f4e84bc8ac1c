package kms

import (
	"context"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/keyraft/keyraft/internal/awserr"
)

// rsaKeygenWait is how long a request waits for a free RSA key-generation
// slot before it is throttled. A new RSA_4096 key costs seconds of one core
// and RSA_2048 tens of milliseconds; without a bound, one caller looping on
// GetParametersForImport or GenerateDataKeyPair starves every other request
// of the leader's CPU (a breaker saw Encrypt go from 5 ms to 990 ms, and on a
// shared host Raft missed heartbeats and re-elected).
const rsaKeygenWait = 2 * time.Second

// rsaKeygen bounds how many RSA keys the leader generates at once: half its
// cores, at least one. The rest of the CPU stays for every other request.
type rsaKeygen struct {
	once  sync.Once
	slots chan struct{}
}

func (g *rsaKeygen) init() {
	g.once.Do(func() {
		g.slots = make(chan struct{}, max(1, runtime.GOMAXPROCS(0)/2))
	})
}

// acquire takes a slot for an RSA key of spec, or answers
// ThrottlingException (which the AWS SDKs retry with back-off) when none
// frees up in time. Specs that are not RSA take no slot: their keys cost
// microseconds. release must be called once the key exists.
func (s *Service) acquireRSAKeygen(ctx context.Context, spec string) (release func(), e *awserr.Error) {
	if !strings.HasPrefix(spec, "RSA_") {
		return func() {}, nil
	}
	g := &s.keygen
	g.init()
	timer := time.NewTimer(rsaKeygenWait)
	defer timer.Stop()
	select {
	case g.slots <- struct{}{}:
		return func() { <-g.slots }, nil
	case <-timer.C:
	case <-ctx.Done():
	}
	return nil, awserr.New("ThrottlingException", http.StatusBadRequest,
		"Rate exceeded: too many RSA key generations in progress; retry with back-off.")
}
