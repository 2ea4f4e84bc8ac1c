package policy

import "strings"

// glob reports whether s matches pattern, where '*' matches any run of
// characters (including none) and '?' exactly one, as in IAM's StringLike,
// Action and Resource matching. It backtracks only to the last '*', so it
// runs in O(len(pattern)·len(s)) at worst, whatever the fuzzer writes.
func glob(pattern, s string) bool {
	if !strings.ContainsAny(pattern, "*?") {
		return pattern == s
	}
	p, t := []rune(pattern), []rune(s)
	pi, ti := 0, 0
	star, mark := -1, 0
	for ti < len(t) {
		switch {
		case pi < len(p) && p[pi] == '*':
			star, mark = pi, ti
			pi++
		case pi < len(p) && (p[pi] == '?' || p[pi] == t[ti]):
			pi++
			ti++
		case star >= 0:
			pi = star + 1
			mark++
			ti = mark
		default:
			return false
		}
	}
	for pi < len(p) && p[pi] == '*' {
		pi++
	}
	return pi == len(p)
}

// arnLike is IAM's ArnLike (and ArnEquals, which AWS evaluates the same way):
// both sides split into the six colon-separated ARN fields, the last keeping
// any further colons, and each field globbed on its own so that a '*' in the
// region cannot swallow the account. The pattern's first field is globbed
// too ("*:…" is a pattern, not an ARN), so this splits by hand rather than
// with arn.Parse.
func arnLike(pattern, s string) bool {
	pp := strings.SplitN(pattern, ":", 6)
	ap := strings.SplitN(s, ":", 6)
	if len(pp) != 6 || len(ap) != 6 {
		return false
	}
	for i := range pp {
		if !glob(pp[i], ap[i]) {
			return false
		}
	}
	return true
}

// actionMatches: action names are case-insensitive in AWS ("kms:encrypt" and
// "KMS:Encrypt" name the same action).
func actionMatches(pattern, action string) bool {
	return glob(strings.ToLower(pattern), strings.ToLower(action))
}
