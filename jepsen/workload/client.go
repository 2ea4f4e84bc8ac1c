package workload

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmw "github.com/aws/aws-sdk-go-v2/aws/middleware"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"

	"github.com/keyraft/keyraft/jepsen/history"
)

// newClient is the real AWS SDK KMS client for one node. The SDK's retries
// are off: one op is one HTTP request, so the history and the audit log
// can be matched request for request, and a retry of an indeterminate
// write can never hide in it.
func newClient(endpoint, region, akid, secret string, roots *x509.CertPool) *kms.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 32
	tr.DialContext = (&net.Dialer{Timeout: 2 * time.Second}).DialContext
	if roots != nil {
		tr.TLSClientConfig = &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
	}
	return kms.New(kms.Options{
		Region:       region,
		BaseEndpoint: aws.String(endpoint),
		Credentials:  credentials.NewStaticCredentialsProvider(akid, secret, ""),
		Retryer:      aws.NopRetryer{},
		HTTPClient:   &http.Client{Transport: tr},
	})
}

// withToken puts the op's token in the request's User-Agent; keyraft
// records the User-Agent in the op's audit event.
func withToken(token string) func(*kms.Options) {
	name, value, _ := strings.Cut(token, "/")
	return func(o *kms.Options) {
		o.APIOptions = append(o.APIOptions, awsmw.AddUserAgentKeyValue(name, value))
	}
}

// outcome is how an answer (or its absence) classifies.
type outcome struct {
	status    history.Status
	code, msg string
	requestID string
}

// classify an SDK call's error. A definite failure is an answer that
// proves nothing was applied: a KMS refusal (4xx), or a sealed node's 503
// (it refuses before forwarding). Every other 5xx may follow a proposal
// that commits anyway (a leader change mid-commit, an audit commit that
// timed out, a forward whose answer was lost), and no answer at all is
// indeterminate too.
func classify(err error, md middleware.Metadata) outcome {
	if err == nil {
		id, _ := awsmw.GetRequestIDMetadata(md)
		return outcome{status: history.OK, requestID: id}
	}
	var o outcome
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		o.requestID = re.ServiceRequestID()
	}
	var api smithy.APIError
	if errors.As(err, &api) && re != nil {
		o.code, o.msg = api.ErrorCode(), api.ErrorMessage()
		switch {
		case re.HTTPStatusCode() < 500:
			o.status = history.Fail
		case o.code == "ServiceUnavailableException" && strings.Contains(o.msg, "is sealed"):
			o.status = history.Fail
		default:
			o.status = history.Info
		}
		return o
	}
	o.status, o.msg = history.Info, err.Error()
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		o.code = "timeout"
	case errors.Is(err, context.Canceled):
		o.code = "canceled"
	default:
		o.code = "connection"
		var ne *net.OpError
		if errors.As(err, &ne) && ne.Op == "dial" {
			// The connection was never made (a killed node): nothing was
			// sent, so nothing can apply.
			o.status, o.code = history.Fail, "dial"
		}
	}
	return o
}

// keyIDOf turns a key ARN into its id.
func keyIDOf(ref string) string {
	if i := strings.LastIndex(ref, ":key/"); i >= 0 {
		return ref[i+len(":key/"):]
	}
	return ref
}

// blobHeader reads the key id and material version a keyraft ciphertext
// names: 'K' | 0x01 | len(key id) | key id | version (u32 BE) | ...
// (docs/api.md, "Ciphertext").
func blobHeader(b []byte) (keyID string, version uint32, ok bool) {
	if len(b) < 3 || b[0] != 'K' || b[1] != 1 {
		return "", 0, false
	}
	n := int(b[2])
	if len(b) < 3+n+4 {
		return "", 0, false
	}
	return string(b[3 : 3+n]), binary.BigEndian.Uint32(b[3+n:]), true
}
