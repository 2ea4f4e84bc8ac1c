package policy

import "github.com/keyraft/keyraft/arn"

// LockoutCheck is AWS KMS's policy lockout safety check, run on CreateKey and
// PutKeyPolicy unless the request sets BypassPolicyLockoutSafetyCheck: the
// new key policy p must let callerARN, or the root of account, call
// kms:PutKeyPolicy on the key. An Allow for the account (root ARN or id)
// passes for any caller, because it lets the account's IAM policies grant
// the permission back, as AWS's default key policy does.
//
// The question is asked with no encryption context and aws:SecureTransport
// false, so a statement that needs either does not count towards passing;
// and, since the key's ARN is not known here, a Resource pattern counts if
// it could name a key of the account. Refusal is a *MalformedError wrapping
// ErrLockout with AWS's message.
func LockoutCheck(p *Policy, callerARN, account string) error {
	for _, who := range []string{callerARN, arn.Root(account)} {
		req := Request{PrincipalARN: who, CallerAccount: account, Action: "kms:PutKeyPolicy", unknownKey: true}
		if o := p.evaluate(&req); o.allow && !o.deny {
			return nil
		}
	}
	return &MalformedError{Reason: reasonLockout, Err: ErrLockout}
}
