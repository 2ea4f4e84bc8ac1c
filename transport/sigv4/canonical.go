package sigv4

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// canonicalRequest builds the SigV4 canonical request of r over exactly the
// headers in signed (see doc.go for why this is written here rather than
// borrowed from the SDK's signer):
//
//	METHOD \n URI \n QUERY \n name:value\n ... \n signed;headers \n payloadHash
//
// It reports false when the request cannot have been what the client signed:
// a signed header absent from r, or a query string that does not parse. The
// caller answers both with the signature-mismatch error.
func canonicalRequest(r *http.Request, signed []string, payloadHash string, presigned bool) (string, bool) {
	query, ok := canonicalQuery(r.URL.RawQuery, presigned)
	if !ok {
		return "", false
	}
	var b strings.Builder
	b.WriteString(r.Method)
	b.WriteByte('\n')
	b.WriteString(canonicalURI(r.URL))
	b.WriteByte('\n')
	b.WriteString(query)
	b.WriteByte('\n')
	idx := headerIndex(r.Header)
	for _, name := range signed {
		values, ok := headerValues(r, idx, name)
		if !ok {
			return "", false
		}
		b.WriteString(name)
		b.WriteByte(':')
		for i, v := range values {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(normalizeValue(v))
		}
		b.WriteByte('\n')
	}
	b.WriteByte('\n')
	b.WriteString(strings.Join(signed, ";"))
	b.WriteByte('\n')
	b.WriteString(payloadHash)
	return b.String(), true
}

// headerIndex maps each lowercased header name of r to the keys it has in
// r.Header, sorted. net/http's server canonicalises keys, so there is usually
// one; a request built in-process may hold several spellings of one name.
// Indexing once keeps canonicalRequest linear in the number of headers plus
// signed names, however long a SignedHeaders list a client sends.
func headerIndex(h http.Header) map[string][]string {
	idx := make(map[string][]string, len(h))
	for k := range h {
		lk := strings.ToLower(k)
		idx[lk] = append(idx[lk], k)
	}
	for _, keys := range idx {
		slices.Sort(keys)
	}
	return idx
}

// headerValues returns the values of the header name (lowercase) in the order
// they arrived. host comes from r.Host, where net/http moves it; a
// Transfer-Encoding that net/http moved to r.TransferEncoding is read back
// from there. It reports false for a header the request does not have.
func headerValues(r *http.Request, idx map[string][]string, name string) ([]string, bool) {
	if name == "host" {
		return []string{r.Host}, r.Host != ""
	}
	var values []string
	for _, k := range idx[name] {
		values = append(values, r.Header[k]...)
	}
	if len(values) == 0 && name == "transfer-encoding" {
		values = r.TransferEncoding
	}
	return values, len(values) > 0
}

// normalizeValue trims leading and trailing whitespace and collapses each
// inner run of spaces to one, as the SigV4 specification and the Go SDK do.
// (botocore also collapses runs of other whitespace inside a value; the
// specification names spaces only, and no SDK puts tabs inside the values of
// the headers a KMS request signs.)
func normalizeValue(v string) string {
	v = strings.TrimSpace(v)
	if !strings.Contains(v, "  ") {
		return v
	}
	var b strings.Builder
	b.Grow(len(v))
	for i := 0; i < len(v); i++ {
		if v[i] == ' ' && i > 0 && v[i-1] == ' ' {
			continue
		}
		b.WriteByte(v[i])
	}
	return b.String()
}

// canonicalURI is the path as sent, URI-encoded once more, which is what
// SigV4 asks of every service but S3 (the SDKs encode the already-escaped
// path again). For KMS it is always "/". The path is not normalised: the Go
// SDK does not normalise, and botocore's normalisation does not change "/".
func canonicalURI(u *url.URL) string {
	p := u.EscapedPath()
	if p == "" {
		p = "/"
	}
	return uriEncode(p, true)
}

// canonicalQuery sorts the decoded parameters by encoded name, then encoded
// value, and encodes both with uriEncode; X-Amz-Signature is left out of a
// presigned request's query. An unparsable query reports false.
func canonicalQuery(raw string, presigned bool) (string, bool) {
	if raw == "" {
		return "", true
	}
	values, err := url.ParseQuery(raw)
	if err != nil {
		return "", false
	}
	var pairs []string
	for k, vs := range values {
		if presigned && k == "X-Amz-Signature" {
			continue
		}
		ek := uriEncode(k, false)
		for _, v := range vs {
			pairs = append(pairs, ek+"="+uriEncode(v, false))
		}
	}
	// Sorting "k=v" strings equals sorting by (k, v) only if '=' sorts below
	// every byte an encoded key can hold, which it does not ('-', '.', digits),
	// so compare the parts.
	slices.SortFunc(pairs, func(a, b string) int {
		ak, av, _ := strings.Cut(a, "=")
		bk, bv, _ := strings.Cut(b, "=")
		if c := strings.Compare(ak, bk); c != 0 {
			return c
		}
		return strings.Compare(av, bv)
	})
	return strings.Join(pairs, "&"), true
}

// uriEncode percent-encodes every byte but the unreserved characters
// A-Z a-z 0-9 - _ . ~ (and '/' when keepSlash), with uppercase hex digits.
func uriEncode(s string, keepSlash bool) string {
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9',
			c == '-', c == '_', c == '.', c == '~', keepSlash && c == '/':
			b.WriteByte(c)
		default:
			b.WriteByte('%')
			b.WriteByte(hexDigits[c>>4])
			b.WriteByte(hexDigits[c&15])
		}
	}
	return b.String()
}

// stringToSign is the second SigV4 stage.
func stringToSign(amzDate, scope, canonical string) string {
	sum := sha256.Sum256([]byte(canonical))
	return algorithm + "\n" + amzDate + "\n" + scope + "\n" + hex.EncodeToString(sum[:])
}

// signature derives the signing key (HMAC chain "AWS4"+secret → date →
// region → service → aws4_request) and returns hex(HMAC(key, stringToSign)).
func signature(secret, date, region, service, sts string) string {
	key := hmacSHA256([]byte("AWS4"+secret), date)
	key = hmacSHA256(key, region)
	key = hmacSHA256(key, service)
	key = hmacSHA256(key, terminator)
	return hex.EncodeToString(hmacSHA256(key, sts))
}

func hmacSHA256(key []byte, data string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	return m.Sum(nil)
}
