// Package sigv4 verifies AWS Signature Version 4 on keyraft's API requests
// (AWS JSON 1.1 at POST / for the kms and iam services, and the operator
// API, which names its operation by method and path) and answers failures
// with the exception names, messages and status codes AWS KMS gives.
//
// # Why the canonical request is built here and not by the SDK's signer
//
// DESIGN.md asks to recompute signatures with the signer the clients use,
// github.com/aws/aws-sdk-go-v2/aws/signer/v4, over exactly the headers in
// SignedHeaders, and to write canonicalisation by hand only if that cannot
// work. It cannot: a verifier must reproduce the client's SignedHeaders list,
// and v4.Signer.SignHTTP takes no list. It decides for itself which headers
// to sign:
//
//   - host and x-amz-date always (it writes X-Amz-Date itself);
//   - content-length exactly when http.Request.ContentLength > 0, with that
//     number, and never when it is 0; a Content-Length header is ignored;
//   - every other header present, except a fixed list it never signs:
//     Authorization, User-Agent, X-Amzn-Trace-Id, Expect, Transfer-Encoding.
//
// Handing it a copy of the request that carries only the signed headers (and
// ContentLength 0 unless content-length is signed) does reproduce the two
// lists DESIGN.md names: the Go SDK's (amz-sdk-invocation-id;amz-sdk-request;
// content-length;content-type;host;x-amz-date;x-amz-target) and botocore's,
// i.e. the AWS CLI's (content-type;host;x-amz-date;x-amz-target, leaving out
// the Content-Length it sends), as TestSDKSignerReproducesBotocore shows. But
// a verifier built that way rejects correctly signed requests from other
// clients (TestSDKSignerChoosesItsOwnHeaders): the AWS SDK for Java v1 signs
// every header but Connection and X-Amzn-Trace-Id, User-Agent included; a
// client may sign "content-length:0", or leave x-amz-date out of the list;
// each would come out as a signature mismatch with nothing to say why. The
// signer also rewrites the request it is given (it strips a default port from
// Host, sets X-Amz-Date, may add X-Amz-Security-Token).
//
// So the canonical request is built here, over exactly SignedHeaders,
// following the SigV4 specification, and the Go SDK's choices where the SDKs
// differ: values trimmed with inner runs of spaces collapsed, repeated headers
// joined with ",", the escaped path encoded once more, the query decoded,
// re-encoded and sorted. The tests check it against signatures made by
// v4.Signer (several header sets, an empty body, session tokens, presigned
// URLs), by the Go SDK's KMS client, and by botocore (the vectors in
// testdata/botocore, made by gen_vectors.py there).
//
// # What a signature must cover
//
// A signature is only worth what it covers. Every AWS SDK signs host,
// x-amz-date and, for an AWS JSON 1.1 service, x-amz-target, the header that
// names the operation; a list without them is refused rather than verified,
// since a signature that does not cover X-Amz-Target is valid for every
// operation (a signed DescribeKey would replay as ScheduleKeyDeletion). The
// presigned form is held to the same rule for x-amz-target: the operation is
// read from the header only, so the header must be signed; presigning with
// the Go SDK needs DisableHeaderHoisting, which keeps X-Amz-Target a header.
// X-Amz-Expires is honoured as in S3's query-string authentication: at most
// 604800 seconds (seven days), and the request expires that long after its
// X-Amz-Date. The operator API names its operation by method and path, which
// the canonical request always covers (Verifier.PathNamesOperation).
//
// # What AWS answers
//
// The messages are AWS's where AWS's are known (from AWS's troubleshooting
// guide and from responses recorded against the JSON-protocol services that
// share KMS's front end); see Verify for the order of the checks and the two
// deliberate departures. Every refusal has status 400: the JSON services
// answer 400 to all four exception types, InvalidSignatureException included
// (403 SignatureDoesNotMatch belongs to the query/XML and REST services).
//
// # Cost
//
// Verify runs on every request the leader serves, so it does the least a
// SigV4 check can: one SHA-256 of the body, the canonical request and string
// to sign built in stack buffers and hashed with sha256.Sum256, one HMAC
// (crypto/hmac, from a pool of states per signing key), and one allocation
// for a usual request (TestVerifyAllocatesOnce, BenchmarkVerify). The
// signing key, four HMACs away from the secret, is cached per secret and
// credential scope (signingkey.go); the secret itself is looked up on every
// request, so a deleted or rotated access key stops working at once.
//
// Secrets are handed over as bytes and zeroed once used; the cache names a
// secret by its SHA-256, and Verifier.Forget (called when a node seals)
// zeroes every signing key and every crypto/hmac state keyed by one (the
// padded key, or the SHA-256 states after it), which crypto/hmac gives no
// way to clear: internal/wipe makes them so that it can reach every copy
// (wipe.NewHMAC) and zeroes them (wipe.Deep).
//
// Secrets never appear in errors, and the package does not log.
package sigv4
