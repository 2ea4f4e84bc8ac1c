package gateway

import (
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// modelOperations lists the operations of AWS KMS's service model: the
// api_op_*.go files of the aws-sdk-go-v2 service/kms module go.mod names.
func modelOperations(t *testing.T) []string {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/aws/aws-sdk-go-v2/service/kms").Output()
	if err != nil {
		t.Fatalf("go list the SDK module: %v", err)
	}
	dir := strings.TrimSpace(string(out))
	files, err := filepath.Glob(filepath.Join(dir, "api_op_*.go"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no api_op_*.go files in %q: %v", dir, err)
	}
	var ops []string
	for _, f := range files {
		ops = append(ops, strings.TrimSuffix(strings.TrimPrefix(filepath.Base(f), "api_op_"), ".go"))
	}
	sort.Strings(ops)
	return ops
}

// TestEveryModelOperation: every operation in the SDK's model is either
// served (an entry in the table) or answered UnsupportedOperationException,
// never UnknownOperationException; docs/api.md lists each unsupported one.
func TestEveryModelOperation(t *testing.T) {
	ops := modelOperations(t)
	if len(ops) < 56 {
		t.Fatalf("the model has %d operations; v1.62.4 has 56", len(ops))
	}
	doc, err := os.ReadFile("../docs/api.md")
	if err != nil {
		t.Fatal(err)
	}
	inModel := map[string]bool{}
	for _, name := range ops {
		inModel[name] = true
		op, api, _ := Lookup("TrentService." + name)
		e := unsupportedOperation(name)
		switch {
		case api != KMS:
			t.Errorf("%s: Lookup gives API %v", name, api)
		case op != nil && e != nil:
			t.Errorf("%s is both served and unsupported", name)
		case op == nil && e == nil:
			t.Errorf("%s would answer UnknownOperationException", name)
		case e != nil:
			if e.Type != "UnsupportedOperationException" || e.Status != 400 || !strings.HasPrefix(e.Message, name+": ") {
				t.Errorf("%s: %v", name, e)
			}
			if !strings.Contains(string(doc), "`"+name+"`") {
				t.Errorf("docs/api.md does not list %s", name)
			}
		}
	}
	for name := range unsupported {
		if !inModel[name] {
			t.Errorf("%s is listed unsupported but is not in the model", name)
		}
	}
	// Names AWS does not have stay unknown.
	for _, name := range []string{"encrypt", "ReplicateKeys", "Foo"} {
		if op, _, _ := Lookup("TrentService." + name); op != nil || unsupportedOperation(name) != nil {
			t.Errorf("%s is not an AWS operation", name)
		}
	}
}
