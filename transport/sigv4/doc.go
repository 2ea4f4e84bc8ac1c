// Package sigv4 verifies AWS Signature Version 4 on AWS JSON 1.1 requests
// (POST /, service kms) and answers failures with the exception names,
// messages and status codes AWS KMS gives.
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
// # What AWS answers
//
// The messages are AWS's where AWS's are known (from AWS's troubleshooting
// guide and from responses recorded against the JSON-protocol services that
// share KMS's front end); see Verify for the order of the checks and the two
// deliberate departures. Every AuthError has status 400: the JSON services
// answer 400 to all four exception types, InvalidSignatureException included
// (403 SignatureDoesNotMatch belongs to the query/XML and REST services).
//
// # Cost
//
// Verify runs on every request the leader serves, so it does the least a
// SigV4 check can: one SHA-256 of the body, the canonical request and string
// to sign built in stack buffers and hashed with sha256.Sum256, one HMAC
// (RFC 2104 over pooled SHA-256 states, per signing key), and one allocation
// for a usual request (TestVerifyAllocatesOnce, BenchmarkVerify). The signing key, four HMACs away from the secret, is
// cached per secret and credential scope (signingkey.go); the secret itself
// is looked up on every request, so a deleted or rotated access key stops
// working at once.
//
// Secrets are handed over as bytes and zeroed once used; the cache names a
// secret by its SHA-256, and Verifier.Forget (called when a node seals)
// zeroes every signing key, its HMAC pads and the hash states keyed by them.
//
// Secrets never appear in errors, and the package does not log.
package sigv4
