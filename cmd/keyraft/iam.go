package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"

	"github.com/keyraft/keyraft/iam"
)

const iamUsage = `Usage: keyraft iam <command> [-address URL] [-format json|table] ARGS
Authenticates with $AWS_ACCESS_KEY_ID / $AWS_SECRET_ACCESS_KEY (SigV4, service "iam").

  create-user NAME
  list-users
  create-access-key [NAME]        the secret is shown once; without NAME, the caller's own
  list-access-keys [NAME]         without NAME, the caller's own
  delete-access-key [-user NAME] ACCESS_KEY_ID   without -user, one of the caller's own
  put-user-policy [-policy-name P] NAME FILE   attach an IAM policy (JSON file, - for stdin)
  get-user-policy [-policy-name P] NAME
`

func runIAM(args []string) int {
	if len(args) == 0 {
		fmt.Fprint(os.Stderr, iamUsage)
		return 2
	}
	fs, of := newOperatorFlags("iam " + args[0])
	user := fs.String("user", "", "user name (delete-access-key)")
	policyName := fs.String("policy-name", "inline", "policy name (put-user-policy, get-user-policy)")
	pos, err := parseInterspersed(fs, args[1:])
	if err != nil {
		return 2
	}
	need := map[string]int{"create-user": 1, "list-users": 0, "create-access-key": 1, "list-access-keys": 1,
		"delete-access-key": 1, "put-user-policy": 2, "get-user-policy": 1}
	n, ok := need[args[0]]
	if !ok {
		fmt.Fprintf(os.Stderr, "keyraft iam: unknown command %q\n\n%s", args[0], iamUsage)
		return 2
	}
	// The caller itself is the user of these when it names none, as in IAM.
	selfDefault := args[0] == "create-access-key" || args[0] == "list-access-keys"
	if selfDefault && len(pos) == 0 {
		pos = []string{""}
	}
	if len(pos) != n {
		fmt.Fprintf(os.Stderr, "keyraft iam %s: want %d argument(s), got %d\n\n%s", args[0], n, len(pos), iamUsage)
		return 2
	}
	var op string
	in := map[string]any{}
	switch args[0] {
	case "create-user":
		op, in["UserName"] = "CreateUser", pos[0]
	case "list-users":
		op = "ListUsers"
	case "create-access-key":
		op, in["UserName"] = "CreateAccessKey", pos[0]
	case "list-access-keys":
		op, in["UserName"] = "ListAccessKeys", pos[0]
	case "delete-access-key":
		op, in["AccessKeyId"], in["UserName"] = "DeleteAccessKey", pos[0], *user
	case "put-user-policy":
		doc, err := readFileOrStdin(pos[1])
		if err != nil {
			fmt.Fprintf(os.Stderr, "keyraft iam put-user-policy: %v\n", err)
			return 1
		}
		op, in["UserName"], in["PolicyName"], in["PolicyDocument"] = "PutUserPolicy", pos[0], *policyName, string(doc)
	case "get-user-policy":
		op, in["UserName"], in["PolicyName"] = "GetUserPolicy", pos[0], *policyName
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
		printJSON(out)
		return 0
	}
	printIAMTable(op, out)
	return 0
}

func printIAMTable(op string, out map[string]any) {
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
	req, err := http.NewRequest(http.MethodPost, strings.TrimRight(of.address, "/")+"/", bytes.NewReader(body))
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
