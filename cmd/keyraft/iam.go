package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"

	"github.com/keyraft/keyraft/iam"
)

const iamUsage = `Usage: keyraft iam <command> [flags] ARGS
Authenticates with $AWS_ACCESS_KEY_ID / $AWS_SECRET_ACCESS_KEY (SigV4, service "iam").
Each command prints its own usage and flags with -h.

  create-user NAME
  delete-user NAME                refused while the user has access keys or policies
  list-users
  create-access-key [NAME]        the secret is shown once; without NAME, the caller's own
  list-access-keys [NAME]         without NAME, the caller's own
  delete-access-key [-user NAME] ACCESS_KEY_ID   without -user, one of the caller's own
  put-user-policy [-policy-name P] NAME FILE   attach an IAM policy (JSON file, - for stdin)
  get-user-policy [-policy-name P] NAME
  list-user-policies NAME         the names of a user's policies
  delete-user-policy [-policy-name P] NAME
`

// iamCommand is one `keyraft iam` verb: its IAM operation, its
// positional arguments (the optional ones last) and its help.
type iamCommand struct {
	op       string
	args     []string
	optional int // how many of args may be left out
	help     string
	user     bool // takes -user
	policy   bool // takes -policy-name
}

var iamCommands = map[string]iamCommand{
	"create-user":        {op: "CreateUser", args: []string{"NAME"}, help: "Create an IAM user. It can do nothing until given an access key and a policy."},
	"delete-user":        {op: "DeleteUser", args: []string{"NAME"}, help: "Delete an IAM user. Refused (DeleteConflict) while it has access keys or policies:\ndelete those first."},
	"list-users":         {op: "ListUsers", help: "List the IAM users."},
	"create-access-key":  {op: "CreateAccessKey", args: []string{"NAME"}, optional: 1, help: "Create an access key for user NAME (without NAME, for the caller). The secret is shown only now."},
	"list-access-keys":   {op: "ListAccessKeys", args: []string{"NAME"}, optional: 1, help: "List the access keys of user NAME (without NAME, the caller's)."},
	"delete-access-key":  {op: "DeleteAccessKey", args: []string{"ACCESS_KEY_ID"}, user: true, help: "Delete an access key (without -user, one of the caller's own)."},
	"put-user-policy":    {op: "PutUserPolicy", args: []string{"NAME", "FILE"}, policy: true, help: "Attach an IAM policy to user NAME, read from FILE (- for stdin), replacing one of the same name."},
	"get-user-policy":    {op: "GetUserPolicy", args: []string{"NAME"}, policy: true, help: "Print one of user NAME's policies."},
	"list-user-policies": {op: "ListUserPolicies", args: []string{"NAME"}, help: "List the names of user NAME's policies."},
	"delete-user-policy": {op: "DeleteUserPolicy", args: []string{"NAME"}, policy: true, help: "Remove one of user NAME's policies."},
}

func (c iamCommand) synopsis(name string) string {
	s := "iam " + name + " [flags]"
	for i, a := range c.args {
		if i >= len(c.args)-c.optional {
			a = "[" + a + "]"
		}
		s += " " + a
	}
	return s
}

func runIAM(args []string) int {
	if len(args) == 0 {
		fmt.Fprint(os.Stderr, iamUsage)
		return 2
	}
	if isHelp(args[0]) {
		fmt.Print(iamUsage)
		return 0
	}
	cmd, ok := iamCommands[args[0]]
	if !ok {
		fmt.Fprintf(os.Stderr, "keyraft iam: unknown command %q\n\n%s", args[0], iamUsage)
		return 2
	}
	fs, of := newOperatorFlags("iam "+args[0], cmd.synopsis(args[0]), cmd.help)
	user, policyName := new(string), new(string)
	if cmd.user {
		fs.StringVar(user, "user", "", "the user whose access key it is")
	}
	if cmd.policy {
		fs.StringVar(policyName, "policy-name", "inline", "the policy's name")
	}
	pos, err := parseInterspersed(fs, args[1:])
	if err != nil {
		return usageExit(err)
	}
	// The caller itself is the user of these when it names none, as in IAM.
	if len(pos) == len(cmd.args)-cmd.optional && cmd.optional > 0 {
		pos = append(pos, "")
	}
	if len(pos) != len(cmd.args) {
		fmt.Fprintf(os.Stderr, "keyraft iam %s: want %d argument(s), got %d\n\n", args[0], len(cmd.args), len(pos))
		fs.SetOutput(os.Stderr)
		fs.Usage()
		return 2
	}
	op := cmd.op
	in := map[string]any{}
	switch op {
	case "ListUsers":
	case "DeleteAccessKey":
		in["AccessKeyId"], in["UserName"] = pos[0], *user
	case "PutUserPolicy":
		doc, err := readFileOrStdin(pos[1])
		if err != nil {
			fmt.Fprintf(os.Stderr, "keyraft iam put-user-policy: %v\n", err)
			return 1
		}
		in["UserName"], in["PolicyName"], in["PolicyDocument"] = pos[0], *policyName, string(doc)
	default:
		in["UserName"] = pos[0]
		if cmd.policy {
			in["PolicyName"] = *policyName
		}
	}
	var out map[string]any
	if err := callIAM(of, op, in, &out); err != nil {
		fmt.Fprintf(os.Stderr, "keyraft iam %s: %v\n", args[0], err)
		return 1
	}
	if of.format == "json" {
		if ak, ok := out["AccessKey"].(map[string]any); ok && op == "CreateAccessKey" {
			printJSON(map[string]any{"user_name": ak["UserName"], "access_key_id": ak["AccessKeyId"], "secret_access_key": ak["SecretAccessKey"]})
			return 0
		}
		printJSON(snakeKeys(map[string]any(out)))
		return 0
	}
	printIAMTable(op, in, out)
	return 0
}

func printIAMTable(op string, in, out map[string]any) {
	switch op {
	case "CreateUser":
		u, _ := out["User"].(map[string]any)
		printTable(u, []string{"UserName", "Arn", "UserId"})
	case "CreateAccessKey":
		ak, _ := out["AccessKey"].(map[string]any)
		printTable(ak, []string{"UserName", "AccessKeyId", "SecretAccessKey"})
		fmt.Fprintln(os.Stderr, "keyraft iam: the secret access key is shown only now; store it.")
	case "ListUsers":
		users, _ := out["Users"].([]any)
		for _, u := range users {
			m, _ := u.(map[string]any)
			fmt.Printf("%v\t%v\n", m["UserName"], m["Arn"])
		}
	case "ListAccessKeys":
		keys, _ := out["AccessKeyMetadata"].([]any)
		for _, k := range keys {
			m, _ := k.(map[string]any)
			fmt.Printf("%v\t%v\n", m["AccessKeyId"], m["Status"])
		}
	case "GetUserPolicy":
		fmt.Println(out["PolicyDocument"])
	case "ListUserPolicies":
		names, _ := out["PolicyNames"].([]any)
		for _, n := range names {
			fmt.Println(n)
		}
	case "DeleteUser":
		fmt.Printf("Deleted user %v.\n", in["UserName"])
	case "DeleteUserPolicy":
		fmt.Printf("Deleted policy %v of user %v.\n", in["PolicyName"], in["UserName"])
	case "DeleteAccessKey":
		fmt.Printf("Deleted access key %v.\n", in["AccessKeyId"])
	}
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func readFileOrStdin(path string) ([]byte, error) {
	if path == "-" {
		return io.ReadAll(os.Stdin)
	}
	return os.ReadFile(path)
}

// callIAM sends one SigV4-signed IAM operation to a node's API.
func callIAM(of *operatorFlags, op string, in, out any) error {
	akid, secret := os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY")
	if akid == "" || secret == "" {
		return fmt.Errorf("set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY to an access key of the cluster")
	}
	body, err := json.Marshal(in)
	if err != nil {
		return err
	}
	base, err := nodeURL(of.address)
	if err != nil {
		return err
	}
	req, err := http.NewRequest(http.MethodPost, base+"/", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", iam.TargetPrefix+op)
	if err := of.sign(req, body, "iam"); err != nil {
		return err
	}
	raw, err := of.send(req)
	if err != nil {
		return err
	}
	if len(raw) == 0 {
		return nil
	}
	return json.Unmarshal(raw, out)
}
