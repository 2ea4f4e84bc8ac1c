package sigv4

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// canonicalRequest appends to b the SigV4 canonical request of r over exactly
// the headers in signed (see doc.go for why this is written here rather than
// borrowed from the SDK's signer):
//
//	METHOD \n URI \n QUERY \n name:value\n ... \n signed;headers \n payloadHash
//
// It reports false when the request cannot have been what the client signed:
// a signed header absent from r, or a query string that does not parse. The
// caller answers both with the signature-mismatch error. Verify passes a
// stack buffer, so that a usual request builds it without allocating.
func canonicalRequest(b []byte, r *http.Request, signed string, payloadHash []byte, presigned bool) ([]byte, bool) {
	query, ok := canonicalQuery(r.URL.RawQuery, presigned)
	if !ok {
		return nil, false
	}
	b = append(b, r.Method...)
	b = append(b, '\n')
	b = appendCanonicalURI(b, r.URL)
	b = append(b, '\n')
	b = append(b, query...)
	b = append(b, '\n')
	if b, ok = appendCanonicalHeaders(b, r, signed); !ok {
		return nil, false
	}
	b = append(b, '\n')
	b = append(b, signed...)
	b = append(b, '\n')
	return append(b, payloadHash...), true
}

// appendCanonicalHeaders appends a "name:value\n" line for each name in the
// checked SignedHeaders list signed, the values of a repeated header joined
// with "," in the order they arrived. host comes from r.Host, where net/http
// moves it; a Transfer-Encoding that net/http moved to r.TransferEncoding is
// read back from there. It reports false for a header the request does not
// have.
//
// When every key of r.Header is in canonical form, as net/http's server
// leaves them, a lowercase name has exactly one key it can match, its
// canonical form, which is looked up without allocating. A request built
// in-process may hold other spellings, several of one name even; then every
// key is indexed by its lowercase form once (headerIndex), which keeps this
// linear in the number of headers plus signed names, however long a
// SignedHeaders list a client sends.
func appendCanonicalHeaders(b []byte, r *http.Request, signed string) ([]byte, bool) {
	var idx map[string][]string
	if !canonicalKeys(r.Header) {
		idx = headerIndex(r.Header)
	}
	var keyBuf [64]byte
	for name, rest, more := "", signed, true; more; {
		name, rest, more = strings.Cut(rest, ";")
		b = append(b, name...)
		b = append(b, ':')
		n := 0
		add := func(values []string) {
			for _, v := range values {
				if n > 0 {
					b = append(b, ',')
				}
				b = appendValue(b, v)
				n++
			}
		}
		switch {
		case name == "host":
			if r.Host == "" {
				return nil, false
			}
			add([]string{r.Host})
		case idx != nil:
			for _, k := range idx[name] {
				add(r.Header[k])
			}
		default:
			add(r.Header[string(appendCanonicalKey(keyBuf[:0], name))])
		}
		if n == 0 && name == "transfer-encoding" {
			add(r.TransferEncoding)
		}
		if n == 0 {
			return nil, false
		}
		b = append(b, '\n')
	}
	return b, true
}

// canonicalKeys reports whether every key of h is an ASCII header token in
// the form textproto.CanonicalMIMEHeaderKey gives it: a letter upper case at
// the start and after '-', lower case elsewhere.
func canonicalKeys(h http.Header) bool {
	for k := range h {
		for i := 0; i < len(k); i++ {
			c := k[i]
			upper := i == 0 || k[i-1] == '-'
			switch {
			case 'A' <= c && c <= 'Z':
				if !upper {
					return false
				}
			case 'a' <= c && c <= 'z':
				if upper {
					return false
				}
			case '0' <= c && c <= '9', strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
			default:
				return false
			}
		}
	}
	return true
}

// appendCanonicalKey appends the canonical form of the lowercase header name.
func appendCanonicalKey(b []byte, name string) []byte {
	for i := 0; i < len(name); i++ {
		c := name[i]
		if 'a' <= c && c <= 'z' && (i == 0 || name[i-1] == '-') {
			c -= 'a' - 'A'
		}
		b = append(b, c)
	}
	return b
}

// headerIndex maps each lowercased header name of r to the keys it has in
// r.Header, sorted.
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

// appendValue appends v trimmed of leading and trailing whitespace with each
// inner run of spaces collapsed to one, as the SigV4 specification and the Go
// SDK do. (botocore also collapses runs of other whitespace inside a value;
// the specification names spaces only, and no SDK puts tabs inside the values
// of the headers a KMS request signs.)
func appendValue(b []byte, v string) []byte {
	v = strings.TrimSpace(v)
	for i := 0; i < len(v); i++ {
		if v[i] == ' ' && i > 0 && v[i-1] == ' ' {
			continue
		}
		b = append(b, v[i])
	}
	return b
}

// appendCanonicalURI appends the path as sent, URI-encoded once more, which is
// what SigV4 asks of every service but S3 (the SDKs encode the already-escaped
// path again). For KMS it is always "/". The path is not normalised: the Go
// SDK does not normalise, and botocore's normalisation does not change "/".
func appendCanonicalURI(b []byte, u *url.URL) []byte {
	p := u.EscapedPath()
	if p == "" {
		p = "/"
	}
	return appendURIEncoded(b, p, true)
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
	return string(appendURIEncoded(make([]byte, 0, len(s)), s, keepSlash))
}

func appendURIEncoded(b []byte, s string, keepSlash bool) []byte {
	const hexDigits = "0123456789ABCDEF"
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9',
			c == '-', c == '_', c == '.', c == '~', keepSlash && c == '/':
			b = append(b, c)
		default:
			b = append(b, '%', hexDigits[c>>4], hexDigits[c&15])
		}
	}
	return b
}

// stringToSign appends the second SigV4 stage:
//
//	AWS4-HMAC-SHA256 \n amzDate \n date/region/service/aws4_request \n hex(SHA-256(canonical))
func stringToSign(b []byte, amzDate string, s scope, canonical []byte) []byte {
	sum := sha256.Sum256(canonical)
	b = append(b, algorithm+"\n"...)
	b = append(b, amzDate...)
	b = append(b, '\n')
	b = append(b, s.date...)
	b = append(b, '/')
	b = append(b, s.region...)
	b = append(b, '/')
	b = append(b, s.service...)
	b = append(b, "/"+terminator+"\n"...)
	return hex.AppendEncode(b, sum[:])
}
