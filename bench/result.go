package bench

import (
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"
)

// Result is the outcome of one Run. Counts and latencies cover the timed
// phase only; latencies are of successful operations.
type Result struct {
	Target    Target
	Op        Op
	KeySpec   string // the spec of the keys driven
	Clients   int
	Rate      float64 // requests per second sent open-loop; 0: closed loop
	Size      int     // plaintext bytes for encrypt and decrypt
	Keys      int
	Endpoints []string

	Duration  time.Duration // the timed phase as it actually ran
	Ops       uint64        // successful operations
	Errors    uint64        // failed operations
	OpsPerSec float64       // Ops / Duration

	P50, P99, P999, Max time.Duration

	// ServerCPUPerOp is the CPU time (user+system) of Config.ServerPIDs,
	// summed, across the timed phase, divided by Ops. Valid only if
	// ServerCPUMeasured, which needs ServerPIDs.
	ServerCPUPerOp    time.Duration
	ServerCPUMeasured bool
	// ServerCPUPerOpEach is the same for each of ServerPIDs (Config's), in
	// their order, so that one node's share (a leader's) can be told apart.
	ServerCPUPerOpEach []time.Duration
	ServerPIDs         []int
	// ClientCPUPerOp is the bench process's own CPU time across the timed
	// phase divided by Ops. Valid only if ClientCPUMeasured (needs /proc).
	ClientCPUPerOp    time.Duration
	ClientCPUMeasured bool

	// ErrorSamples are the first few distinct error messages, with how often
	// each occurred.
	ErrorSamples []ErrorSample
}

// ErrorSample is one distinct error message and its count.
type ErrorSample struct {
	Message string
	Count   uint64
}

// maxErrorSamples bounds how many distinct error messages are kept.
const maxErrorSamples = 5

// errorLog collects distinct error messages from every worker. Errors are
// expected to be rare, so one mutex is cheap enough; success never takes it.
type errorLog struct {
	mu      sync.Mutex
	samples []ErrorSample // guarded by mu; at most maxErrorSamples
}

func (l *errorLog) add(err error) {
	msg := errorMessage(err)
	l.mu.Lock()
	defer l.mu.Unlock()
	for i := range l.samples {
		if l.samples[i].Message == msg {
			l.samples[i].Count++
			return
		}
	}
	if len(l.samples) < maxErrorSamples {
		l.samples = append(l.samples, ErrorSample{Message: msg, Count: 1})
	}
}

func (l *errorLog) snapshot() []ErrorSample {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]ErrorSample(nil), l.samples...)
}

// errorMessage strips what differs between otherwise equal errors (request
// ids, ephemeral ports) so that the log groups them.
func errorMessage(err error) string {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		msg := fmt.Sprintf("%s: %s", apiErr.ErrorCode(), apiErr.ErrorMessage())
		var respErr *awshttp.ResponseError
		if errors.As(err, &respErr) {
			msg = fmt.Sprintf("HTTP %d %s", respErr.HTTPStatusCode(), msg)
		}
		return msg
	}
	var opErr *net.OpError
	if errors.As(err, &opErr) && opErr.Err != nil {
		return opErr.Op + ": " + opErr.Err.Error()
	}
	return err.Error()
}
