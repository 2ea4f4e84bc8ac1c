package arn

import (
	"strings"
	"testing"
)

// TestBuild pins every ARN keyraft makes, byte for byte: SDKs, policies and
// audit readers compare them as strings.
func TestBuild(t *testing.T) {
	const region, account = "us-east-1", "111122223333"
	for _, tt := range []struct{ got, want string }{
		{Key(region, account, "1234abcd-12ab-34cd-56ef-1234567890ab"), "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"},
		{Key(region, account, ""), "arn:aws:kms:us-east-1:111122223333:key/"},
		{Alias(region, account, "alias/app"), "arn:aws:kms:us-east-1:111122223333:alias/app"},
		{User(account, "alice"), "arn:aws:iam::111122223333:user/alice"},
		{Root(account), "arn:aws:iam::111122223333:root"},
		{Node(region, account, "node-1"), "arn:aws:keyraft:us-east-1:111122223333:node/node-1"},
		{Cluster(region, account), "arn:aws:keyraft:us-east-1:111122223333:cluster"},
	} {
		if tt.got != tt.want {
			t.Errorf("got %s, want %s", tt.got, tt.want)
		}
	}
}

func TestParse(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want ARN
		ok   bool
	}{
		{"arn:aws:kms:us-east-1:111122223333:key/k", ARN{"aws", "kms", "us-east-1", "111122223333", "key/k"}, true},
		{"arn:aws-cn:iam::111122223333:root", ARN{"aws-cn", "iam", "", "111122223333", "root"}, true},
		{"arn:aws:kms:r:a:alias/x:y:z", ARN{"aws", "kms", "r", "a", "alias/x:y:z"}, true},
		{"arn:::::", ARN{}, true},
		{"arn:aws:kms:r:a", ARN{}, false},
		{"ARN:aws:kms:r:a:key/k", ARN{}, false},
		{"xarn:aws:kms:r:a:key/k", ARN{}, false},
		{"", ARN{}, false},
	} {
		got, ok := Parse(tt.in)
		if ok != tt.ok || got != tt.want {
			t.Errorf("Parse(%q) = %+v, %v; want %+v, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestRootAccount(t *testing.T) {
	for in, want := range map[string]string{
		"arn:aws:iam::111122223333:root":          "111122223333",
		"arn:aws-cn:iam::111122223333:root":       "111122223333",
		"arn:aws-us-gov:iam::111122223333:root":   "111122223333",
		"arn::iam::111122223333:root":             "", // no partition
		"arn:aws:iam::11112222333:root":           "", // 11 digits
		"arn:aws:iam::11112222333x:root":          "",
		"arn:aws:iam:us-east-1:111122223333:root": "",
		"arn:aws:sts::111122223333:root":          "",
		"arn:aws:iam::111122223333:user/root":     "",
		"arn:aws:iam::111122223333:root:x":        "",
		"111122223333":                            "",
	} {
		if got := RootAccount(in); got != want {
			t.Errorf("RootAccount(%q) = %q, want %q", in, got, want)
		}
	}
}

// rootAccountBySplit is how policy read a root ARN before this package:
// strings.Split, exactly six fields. FuzzParse holds RootAccount to it.
func rootAccountBySplit(s string) string {
	parts := strings.Split(s, ":")
	if len(parts) != 6 || parts[0] != "arn" || parts[1] == "" || parts[2] != "iam" ||
		parts[3] != "" || !IsAccountID(parts[4]) || parts[5] != "root" {
		return ""
	}
	return parts[4]
}

// FuzzParse: an ARN that parses writes back to exactly itself; one that
// does not lacks the "arn:" prefix or a field; RootAccount and Account
// agree with Parse and with the split-by-hand readers they replaced; and
// every builder's output parses back to its parts.
func FuzzParse(f *testing.F) {
	f.Add("arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab", "us-east-1", "111122223333", "k")
	f.Add("arn:aws-cn:iam::111122223333:root", "", "111122223333", "alice")
	f.Add("arn:aws:kms:r:a:alias/x:y", "eu-west-1", "", "")
	f.Add("arn:", "r:x", "a", "n/a")
	f.Fuzz(func(t *testing.T, s, region, account, name string) {
		a, ok := Parse(s)
		if ok {
			if a.String() != s {
				t.Fatalf("Parse(%q).String() = %q", s, a.String())
			}
		} else if strings.HasPrefix(s, Prefix) && strings.Count(s, ":") >= 5 {
			t.Fatalf("Parse(%q) refused an ARN with its six fields", s)
		}
		if got, want := RootAccount(s), rootAccountBySplit(s); got != want {
			t.Fatalf("RootAccount(%q) = %q, split by hand: %q", s, got, want)
		}
		if got := Account(s); got != a.Account {
			t.Fatalf("Account(%q) = %q, Parse: %q", s, got, a.Account)
		}
		if strings.Contains(region+account, ":") {
			return // a field with a colon is no ARN field; builders are given none
		}
		for _, tt := range []struct {
			s    string
			want ARN
		}{
			{Key(region, account, name), ARN{"aws", "kms", region, account, "key/" + name}},
			{Alias(region, account, "alias/"+name), ARN{"aws", "kms", region, account, "alias/" + name}},
			{User(account, name), ARN{"aws", "iam", "", account, "user/" + name}},
			{Root(account), ARN{"aws", "iam", "", account, "root"}},
			{Node(region, account, name), ARN{"aws", "keyraft", region, account, "node/" + name}},
			{Cluster(region, account), ARN{"aws", "keyraft", region, account, "cluster"}},
		} {
			if got, ok := Parse(tt.s); !ok || got != tt.want {
				t.Fatalf("Parse(%q) = %+v, %v; want %+v", tt.s, got, ok, tt.want)
			}
		}
	})
}
