package policy

import (
	"errors"
	"strings"
)

// Sentinels that a *MalformedError may wrap, for callers that answer them
// with something other than MalformedPolicyDocumentException.
var (
	// ErrTooLarge: the document is over MaxSize. AWS KMS answers this with
	// LimitExceededException rather than MalformedPolicyDocumentException.
	ErrTooLarge = errors.New("policy document too large")
	// ErrLockout: LockoutCheck refused the policy.
	ErrLockout = errors.New("policy would lock out the caller")
)

// MaxSize is AWS KMS's key policy size quota (32 KiB), applied to identity
// policies as well so that no document makes evaluation expensive.
const MaxSize = 32768

// MalformedError is a policy refused by Parse, ParseIdentity or LockoutCheck.
// Reason is the sentence AWS answers with in MalformedPolicyDocumentException
// (or the closest one where AWS answers with none); Part names where in the
// document the problem is, so the user can fix it.
type MalformedError struct {
	Reason string // e.g. "Policy contains a statement with one or more invalid principals."
	Part   string // e.g. `Statement[1].Principal.AWS[0]`; empty for the whole document
	Detail string // what is wrong with Part
	Err    error  // a sentinel above, or the JSON decoder's error
}

func (e *MalformedError) Error() string {
	var b strings.Builder
	b.WriteString(e.Reason)
	if e.Part != "" {
		b.WriteString(" ")
		b.WriteString(e.Part)
		if e.Detail != "" {
			b.WriteString(": ")
		}
	} else if e.Detail != "" {
		b.WriteString(" ")
	}
	b.WriteString(e.Detail)
	return b.String()
}

func (e *MalformedError) Unwrap() error { return e.Err }

// The sentences AWS IAM and AWS KMS answer MalformedPolicyDocument with. Where
// AWS has a sentence for the problem it is used verbatim; the rest follow the
// shape of KMS's "Policy contains a statement with ..." sentences.
const (
	reasonSyntax           = "Syntax errors in policy."
	reasonTooLarge         = "Policy document exceeds the maximum size of 32768 bytes."
	reasonCharacters       = "Policy document contains characters outside the allowed set (tab, line feed, carriage return, U+0020 through U+00FF)."
	reasonPrincipals       = "Policy contains a statement with one or more invalid principals."
	reasonNoPrincipal      = "Policy document should not specify a principal."
	reasonActions          = "Policy statement must contain actions."
	reasonResources        = "Policy statement must contain resources."
	reasonSid              = "Statement IDs (SID) in a single policy must be unique."
	reasonVendor           = "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc."
	reasonColon            = "Actions/Condition can contain only one colon."
	reasonResourceFormat   = `Resource %s must be in ARN format or "*".` // with the resource
	reasonOperator         = "Policy contains a statement with one or more unsupported condition operators."
	reasonConditionKey     = "Policy contains a statement with one or more unsupported condition keys."
	reasonConditionValue   = "Policy contains a statement with one or more invalid condition values."
	reasonVariables        = "Policy contains a statement with one or more unsupported policy variables."
	reasonOverlyPermissive = "OverlyPermissiveCondition:EncryptionContext: Using the ForAllValues set operator with a single-valued condition key " +
		"matches requests without the specified encryption context or with an unspecified encryption context. To fix, remove ForAllValues."
	reasonLockout = "The new key policy will not allow you to update the key policy in the future."
)

func malformed(reason, part, detail string) *MalformedError {
	return &MalformedError{Reason: reason, Part: part, Detail: detail}
}
