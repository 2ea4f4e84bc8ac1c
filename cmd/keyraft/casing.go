package main

import (
	"strings"
	"unicode"
)

// The CLI prints JSON in one casing, Vault's snake_case, whatever it
// printed from: the operator API (/v1/sys/, snake_case already) or an IAM
// answer (AWS's PascalCase wire shape, which `aws iam` and the SDKs still
// get unchanged). Audit events are the exception: they are CloudTrail
// records, in CloudTrail's camelCase, printed as the node stores them.

// snakeCase turns an AWS member name into snake_case: "UserName" →
// "user_name", "AccessKeyId" → "access_key_id", "ARN" → "arn".
func snakeCase(s string) string {
	rs := []rune(s)
	var b strings.Builder
	for i, r := range rs {
		if unicode.IsUpper(r) {
			prevLower := i > 0 && (unicode.IsLower(rs[i-1]) || unicode.IsDigit(rs[i-1]))
			acronymEnd := i > 0 && unicode.IsUpper(rs[i-1]) && i+1 < len(rs) && unicode.IsLower(rs[i+1])
			if prevLower || acronymEnd {
				b.WriteByte('_')
			}
			r = unicode.ToLower(r)
		}
		b.WriteRune(r)
	}
	return b.String()
}

// snakeKeys is v (decoded JSON) with every object key in snake_case;
// values (a policy document, a name) are left as they are.
func snakeKeys(v any) any {
	switch t := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, val := range t {
			out[snakeCase(k)] = snakeKeys(val)
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, val := range t {
			out[i] = snakeKeys(val)
		}
		return out
	}
	return v
}
