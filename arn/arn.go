package arn

import "strings"

// Partition is the partition of every ARN keyraft makes. keyraft answers
// as AWS's commercial partition does, so that SDKs and tools that check
// ARNs accept its answers; ARNs it reads may name any partition.
const Partition = "aws"

// Prefix starts every ARN. A string with it claims to be an ARN, and is
// refused as a bad ARN (not, say, as a bad key id) when Parse then fails.
const Prefix = "arn:"

// ARN is a parsed ARN: arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE.
// Region and account are empty for global services (IAM).
type ARN struct {
	Partition string
	Service   string
	Region    string
	Account   string
	// Resource is everything after the fifth colon, colons included
	// ("key/ID", "alias/NAME", "user/NAME", "root").
	Resource string
}

// Parse reads s as an ARN: "arn" and five more colon-separated fields, the
// last of which keeps any further colons. It checks the layout only, not
// the fields: any of them may be empty, and the partition need not be one
// keyraft serves. ok is false if s is not an ARN.
func Parse(s string) (a ARN, ok bool) {
	f := strings.SplitN(s, ":", 6)
	if len(f) != 6 || f[0] != "arn" {
		return ARN{}, false
	}
	return ARN{Partition: f[1], Service: f[2], Region: f[3], Account: f[4], Resource: f[5]}, true
}

// String writes a in the form Parse reads.
func (a ARN) String() string {
	return Prefix + a.Partition + ":" + a.Service + ":" + a.Region + ":" + a.Account + ":" + a.Resource
}

// Key is the ARN of a KMS key: arn:aws:kms:REGION:ACCOUNT:key/KEY_ID.
func Key(region, account, keyID string) string {
	return ARN{Partition, "kms", region, account, "key/" + keyID}.String()
}

// Alias is the ARN of a KMS alias; alias is the alias name with its
// "alias/" prefix, as KMS names aliases: arn:aws:kms:REGION:ACCOUNT:alias/NAME.
func Alias(region, account, alias string) string {
	return ARN{Partition, "kms", region, account, alias}.String()
}

// User is the ARN of an IAM user: arn:aws:iam::ACCOUNT:user/NAME.
func User(account, name string) string {
	return ARN{Partition, "iam", "", account, "user/" + name}.String()
}

// Root is the ARN of an account's root principal: arn:aws:iam::ACCOUNT:root.
func Root(account string) string {
	return ARN{Partition, "iam", "", account, "root"}.String()
}

// Node is the resource of an operator action on one server of the
// cluster: arn:aws:keyraft:REGION:ACCOUNT:node/NODE_ID.
func Node(region, account, nodeID string) string {
	return ARN{Partition, "keyraft", region, account, "node/" + nodeID}.String()
}

// Cluster is the resource of an operator action on the cluster as a
// whole, which no one server stands for: arn:aws:keyraft:REGION:ACCOUNT:cluster.
func Cluster(region, account string) string {
	return ARN{Partition, "keyraft", region, account, "cluster"}.String()
}

// IsAccountID reports whether s is a 12-digit AWS account id.
func IsAccountID(s string) bool {
	if len(s) != 12 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// RootAccount returns the account of an account-root ARN in any partition
// ("arn:aws-cn:iam::111122223333:root"), or "" if s is not one.
func RootAccount(s string) string {
	a, ok := Parse(s)
	if !ok || a.Partition == "" || a.Service != "iam" || a.Region != "" || !IsAccountID(a.Account) || a.Resource != "root" {
		return ""
	}
	return a.Account
}

// Account returns the account field of an ARN, or "" if s is not an ARN.
func Account(s string) string {
	a, _ := Parse(s)
	return a.Account
}
