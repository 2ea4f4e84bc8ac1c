package sigv4

import (
	"fmt"
	"strings"
	"time"

	"github.com/keyraft/keyraft/internal/awserr"
)

const (
	algorithm     = "AWS4-HMAC-SHA256"
	terminator    = "aws4_request"
	amzDateLayout = "20060102T150405Z"
	scopeLayout   = "20060102"
)

// Authorization is a parsed SigV4 Authorization header:
//
//	AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/kms/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=<64 hex>
//
// Date is the credential scope's YYYYMMDD, not X-Amz-Date.
type Authorization struct {
	AccessKeyID, Date, Region, Service string
	SignedHeaders                      []string
	Signature                          string
}

// String formats a in the canonical form the AWS SDKs write; ParseAuthorization
// of the result gives a back.
func (a Authorization) String() string {
	return fmt.Sprintf("%s Credential=%s/%s/%s/%s/%s, SignedHeaders=%s, Signature=%s",
		algorithm, a.AccessKeyID, a.Date, a.Region, a.Service, terminator,
		strings.Join(a.SignedHeaders, ";"), a.Signature)
}

// ParseAuthorization parses an Authorization header strictly. It never
// panics; every error is an *awserr.Error carrying AWS's exception name:
//
//   - a header that is not SigV4 at all (no "AWS4-" prefix): MissingAuthenticationTokenException,
//     as AWS treats it as no credentials;
//   - another AWS4 algorithm, a component that is not key=value, an unknown or
//     repeated component, a missing or empty Credential / SignedHeaders /
//     Signature, a Credential that is not five non-empty slash-separated
//     parts, or a SignedHeaders list that is not distinct lowercase header
//     names in ascending order: IncompleteSignatureException;
//   - a credential terminator other than aws4_request: InvalidSignatureException
//     (AWS's scope message);
//   - a Signature that is not 64 lowercase hex digits: InvalidSignatureException
//     with the signature-mismatch message, since such a value can never match.
//
// Components are separated by commas, optionally followed by spaces or tabs.
// Region, service and date are returned as written; Verifier checks them.
func ParseAuthorization(header string) (Authorization, error) {
	p, missing, err := parseAuthorization(header)
	if err != nil {
		return Authorization{}, err
	}
	if missing != "" {
		return Authorization{}, errIncomplete(missing + "Authorization=" + trimOWS(header))
	}
	if p.terminator != terminator {
		var sp scopeProblems
		sp.terminator(p.terminator)
		return Authorization{}, sp.err()
	}
	a := p.Authorization
	a.SignedHeaders = strings.Split(p.signedHeaders, ";")
	return a, nil
}

// parsed is an Authorization plus the credential terminator, which the
// exported type does not carry because only "aws4_request" is ever valid, and
// the SignedHeaders list as sent and checked, which Verify walks instead of
// splitting it (Authorization.SignedHeaders is left nil).
type parsed struct {
	Authorization
	terminator    string
	signedHeaders string
	// expires is a presigned request's X-Amz-Expires, if expiresSet.
	expires    time.Duration
	expiresSet bool
}

// parseAuthorization does the work of ParseAuthorization but leaves the
// terminator unchecked (Verify reports it together with the other scope
// problems) and returns the "requires 'X' parameter. " sentences for missing
// components separately, so that Verify can add its X-Amz-Date sentence to
// the same message as AWS does. When missing is non-empty, p is zero.
func parseAuthorization(header string) (p parsed, missing string, err *awserr.Error) {
	h := trimOWS(header)
	if !strings.HasPrefix(h, "AWS4-") {
		return parsed{}, "", errMissingToken()
	}
	alg, rest, _ := strings.Cut(h, " ")
	if alg != algorithm {
		return parsed{}, "", errIncomplete(fmt.Sprintf("Unsupported AWS 'algorithm': '%s' (only %s for now). ", alg, algorithm))
	}

	var cred, signedHeaders, signature string
	var seen [3]bool
	if rest = trimOWS(rest); rest != "" {
		for part := range strings.SplitSeq(rest, ",") {
			part = trimOWS(part)
			key, value, ok := strings.Cut(part, "=")
			if !ok {
				return parsed{}, "", errIncomplete(fmt.Sprintf(
					"'%s' not a valid key=value pair (missing equal-sign) in Authorization header: '%s'.", part, h))
			}
			var i int
			var dst *string
			switch key {
			case "Credential":
				i, dst = 0, &cred
			case "SignedHeaders":
				i, dst = 1, &signedHeaders
			case "Signature":
				i, dst = 2, &signature
			default:
				return parsed{}, "", errIncomplete(fmt.Sprintf(
					"'%s' is not a parameter of the AWS4-HMAC-SHA256 Authorization header: '%s'.", key, h))
			}
			if seen[i] {
				return parsed{}, "", errIncomplete(fmt.Sprintf(
					"Authorization header has more than one '%s' parameter: '%s'.", key, h))
			}
			seen[i], *dst = true, value
		}
	}
	for _, c := range [...]struct{ name, value string }{
		{"Credential", cred}, {"Signature", signature}, {"SignedHeaders", signedHeaders},
	} {
		if c.value == "" {
			missing += "Authorization header requires '" + c.name + "' parameter. "
		}
	}
	if missing != "" {
		return parsed{}, missing, nil
	}

	if p, err = parseCredential(cred); err != nil {
		return parsed{}, "", err
	}
	if err = checkSignedHeaders(signedHeaders); err != nil {
		return parsed{}, "", err
	}
	if err = checkSignature(signature); err != nil {
		return parsed{}, "", err
	}
	p.signedHeaders, p.Signature = signedHeaders, signature
	return p, "", nil
}

// parseCredential splits AKID/YYYYMMDD/region/service/terminator.
func parseCredential(cred string) (parsed, *awserr.Error) {
	var parts [5]string
	n := 0
	for rest, more := cred, true; more; n++ {
		var part string
		part, rest, more = strings.Cut(rest, "/")
		if n < len(parts) {
			parts[n] = part
		}
	}
	if n != len(parts) || strings.Contains(cred, "//") || parts[0] == "" || parts[4] == "" {
		return parsed{}, errIncomplete(fmt.Sprintf(
			"Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '%s'", cred))
	}
	return parsed{
		Authorization: Authorization{AccessKeyID: parts[0], Date: parts[1], Region: parts[2], Service: parts[3]},
		terminator:    parts[4],
	}, nil
}

// checkSignedHeaders accepts what every SigV4 signer writes: distinct,
// lowercase header names (RFC 9110 token characters) in ascending byte order,
// joined by ";". Anything else is refused rather than guessed at.
func checkSignedHeaders(s string) *awserr.Error {
	prev := ""
	for name, rest, more := "", s, true; more; prev = name {
		name, rest, more = strings.Cut(rest, ";")
		if !isLowerToken(name) || (prev != "" && prev >= name) {
			return errIncomplete(fmt.Sprintf(
				"SignedHeaders must list distinct lowercase header names in ascending order, separated by ';', got '%s'. ", s))
		}
	}
	return nil
}

// signsHeader reports whether the checked SignedHeaders list s names name.
func signsHeader(s, name string) bool {
	for n, rest, more := "", s, true; more; {
		if n, rest, more = strings.Cut(rest, ";"); n == name {
			return true
		}
	}
	return false
}

func isLowerToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// checkSignature accepts exactly what the signers send: 64 lowercase hex digits.
func checkSignature(s string) *awserr.Error {
	if len(s) != 64 {
		return errMismatch()
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return errMismatch()
		}
	}
	return nil
}

// trimOWS trims the optional whitespace (spaces and tabs) HTTP allows around values.
func trimOWS(s string) string { return strings.Trim(s, " \t") }
