package policy

import "github.com/keyraft/keyraft/arn"

// DefaultKeyPolicy is the key policy AWS KMS gives a key created without one,
// byte for byte as GetKeyPolicy returns it (AWS's pretty-printer: " : "
// between name and value, "[ {" opening the statement list, no final newline),
// so that tools comparing policy text see what they would see from AWS. It
// lets the account's root principal do everything and delegates to IAM, so
// other users of the account get only what their identity policies grant.
func DefaultKeyPolicy(account string) []byte {
	return []byte(`{
  "Version" : "2012-10-17",
  "Id" : "key-default-1",
  "Statement" : [ {
    "Sid" : "Enable IAM User Permissions",
    "Effect" : "Allow",
    "Principal" : {
      "AWS" : "` + arn.Root(account) + `"
    },
    "Action" : "kms:*",
    "Resource" : "*"
  } ]
}`)
}
