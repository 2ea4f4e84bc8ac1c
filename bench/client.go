package bench

import (
	"net"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kms"
)

// readBufferSize is the transport's per-connection read buffer. With the
// default 4 KiB, the answer to a 4 KiB Encrypt or Decrypt (about 5.9 KiB once
// base64 and headers are added) takes two read system calls; 16 KiB takes it
// in one. The write side needs nothing: net/http writes the headers and then
// the SDK's body (not a reader it knows to be in memory) in two writes
// whatever the buffer size, as it does for any application using the SDK.
const readBufferSize = 16 << 10

// newClients builds one KMS client per endpoint, all sharing one HTTP
// transport sized so that every worker keeps its connection alive. The SDK
// client is safe for concurrent use, so workers on an endpoint share it.
func newClients(cfg Config) ([]*kms.Client, *http.Transport) {
	tr := newTransport(cfg)
	hc := &http.Client{Transport: tr, Timeout: cfg.RequestTimeout}
	clients := make([]*kms.Client, len(cfg.Endpoints))
	for i, ep := range cfg.Endpoints {
		clients[i] = kms.New(clientOptions(cfg, ep, hc))
	}
	return clients, tr
}

// newTransport is the HTTP/1.1 transport every client of a run shares,
// whatever its target.
func newTransport(cfg Config) *http.Transport {
	return &http.Transport{
		Proxy:               nil, // a benchmark measures the endpoint, not a proxy
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        2 * cfg.Clients,
		MaxIdleConnsPerHost: cfg.Clients + 1,
		IdleConnTimeout:     90 * time.Second,
		ForceAttemptHTTP2:   false,
		ReadBufferSize:      readBufferSize,
	}
}

// clientOptions are the options of the client for endpoint. The SDK's
// middleware stack is left as it is: dropping the steps a benchmark does not
// need (recursion detection, response timing, request logging, the retry
// rate limiter, the interceptor hooks) saved about 2 µs of the SDK's 40 µs per
// 4 KiB Encrypt, too little to tell from noise end to end, and dropping the
// invocation-id or retry-metrics headers would change what the server
// verifies.
func clientOptions(cfg Config, endpoint string, hc kms.HTTPClient) kms.Options {
	return kms.Options{
		Region:           cfg.Region,
		BaseEndpoint:     aws.String(endpoint),
		Credentials:      credentials.NewStaticCredentialsProvider(cfg.AccessKeyID, cfg.SecretAccessKey, cfg.SessionToken),
		HTTPClient:       hc,
		RetryMaxAttempts: 1, // count every error; never hide one behind a retry
	}
}
