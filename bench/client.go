package bench

import (
	"net"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kms"
)

// newClients builds one KMS client per endpoint, all sharing one HTTP
// transport sized so that every worker keeps its connection alive. The SDK
// client is safe for concurrent use, so workers on an endpoint share it.
func newClients(cfg Config) ([]*kms.Client, *http.Transport) {
	tr := &http.Transport{
		Proxy:               nil, // a benchmark measures the endpoint, not a proxy
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        2 * cfg.Clients,
		MaxIdleConnsPerHost: cfg.Clients + 1,
		IdleConnTimeout:     90 * time.Second,
		ForceAttemptHTTP2:   false,
	}
	hc := &http.Client{Transport: tr, Timeout: cfg.RequestTimeout}
	creds := credentials.NewStaticCredentialsProvider(cfg.AccessKeyID, cfg.SecretAccessKey, cfg.SessionToken)
	clients := make([]*kms.Client, len(cfg.Endpoints))
	for i, ep := range cfg.Endpoints {
		clients[i] = kms.New(kms.Options{
			Region:           cfg.Region,
			BaseEndpoint:     aws.String(ep),
			Credentials:      creds,
			HTTPClient:       hc,
			RetryMaxAttempts: 1, // count every error; never hide one behind a retry
		})
	}
	return clients, tr
}
