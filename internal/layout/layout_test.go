package layout

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// TestModuleKeepsLayout checks every rule against the import graph of the
// module's non-test code, as the go command resolves it for this platform.
func TestModuleKeepsLayout(t *testing.T) {
	g := moduleGraph(t)
	// A graph that lost the packages the rules are about would pass them all.
	for _, pkg := range []string{"crypto", "seal", "fsm", "kms", "iam", "audit", "transport/awsjson", "cluster"} {
		if _, ok := g[pkg]; !ok {
			t.Fatalf("go list found no package %s in the module; the graph is not the module's", pkg)
		}
	}
	for _, rule := range Rules {
		t.Run(rule.From, func(t *testing.T) {
			vs, err := Check(g, rule)
			if err != nil {
				t.Fatal(err)
			}
			for _, v := range vs {
				t.Error(v)
			}
		})
	}
}

// moduleGraph runs `go list -deps` over the module and keeps the module's own
// packages and the imports between them.
func moduleGraph(t *testing.T) Graph {
	t.Helper()
	mod, root, _ := strings.Cut(strings.TrimSpace(string(goCmd(t, "list", "-m", "-f", "{{.Path}} {{.Dir}}"))), " ")
	readSources(t, root)
	out := goCmd(t, "list", "-deps", "-json=ImportPath,Imports", mod+"/...")
	rel := func(path string) (string, bool) {
		return strings.CutPrefix(path, mod+"/")
	}
	g := Graph{}
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p struct {
			ImportPath string
			Imports    []string
		}
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("decoding go list -json: %v", err)
		}
		from, ok := rel(p.ImportPath)
		if !ok {
			continue
		}
		g[from] = nil // a package that imports nothing of the module is still in it
		for _, imp := range p.Imports {
			if to, ok := rel(imp); ok {
				g[from] = append(g[from], to)
			}
		}
	}
	return g
}

// readSources reads every directory and Go file of the module. The go
// command caches a passing test with the files the test itself opened, and
// it cannot see what a child go list read; without this, a change that
// breaks the layout would be answered from the cache with the old pass.
func readSources(t *testing.T, root string) {
	t.Helper()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && path != root && (d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".")) {
			return filepath.SkipDir
		}
		if d.IsDir() || strings.HasSuffix(path, ".go") || d.Name() == "go.mod" {
			_, err := os.ReadFile(path)
			if d.IsDir() {
				_, err = os.ReadDir(path)
			}
			return err
		}
		return nil
	})
	if err != nil {
		t.Fatalf("reading the module's sources: %v", err)
	}
}

func goCmd(t *testing.T, args ...string) []byte {
	t.Helper()
	// go test puts its own GOROOT/bin first in PATH, so this is the go that
	// is building the test.
	cmd := exec.Command("go", args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, stderr.Bytes())
	}
	return out
}

// TestCheck proves the checker can fail: on fabricated graphs it must find
// direct and transitive breaches, by their shortest chain, and nothing else.
func TestCheck(t *testing.T) {
	wire := Rule{From: "fsm/...", Never: []string{"transport/...", "cluster"}, Why: "because"}
	for _, tc := range []struct {
		name  string
		g     Graph
		rule  Rule
		want  [][]string
		error string
	}{
		{
			name: "clean",
			g:    Graph{"fsm": {"crypto", "fsm/fsmpb"}, "fsm/fsmpb": nil, "crypto": nil, "transport/awsjson": {"crypto"}},
			rule: wire,
		},
		{
			name: "direct import",
			g:    Graph{"fsm": {"transport/awsjson"}, "transport/awsjson": nil},
			rule: wire,
			want: [][]string{{"fsm", "transport/awsjson"}},
		},
		{
			name: "through an intermediary, by the shortest chain",
			g: Graph{
				"fsm":               {"audit", "seal"},
				"seal":              {"crypto"},
				"crypto":            {"internal/x"},
				"internal/x":        {"transport/awsjson"},
				"audit":             {"transport/awsjson"},
				"transport/awsjson": nil,
			},
			rule: wire,
			want: [][]string{{"fsm", "audit", "transport/awsjson"}},
		},
		{
			name: "every package under From, every forbidden package reached",
			g: Graph{
				"fsm":                 {"fsm/fsmpb"},
				"fsm/fsmpb":           {"transport/clusterpb", "cluster"},
				"cluster":             nil,
				"transport/clusterpb": nil,
			},
			rule: wire,
			want: [][]string{
				{"fsm", "fsm/fsmpb", "cluster"},
				{"fsm", "fsm/fsmpb", "transport/clusterpb"},
				{"fsm/fsmpb", "cluster"},
				{"fsm/fsmpb", "transport/clusterpb"},
			},
		},
		{
			name: "a pattern without /... names one package, and a prefix of a name is not a parent",
			g:    Graph{"fsm": {"cluster/raftlog", "clusterclock", "transportx"}, "cluster/raftlog": nil, "clusterclock": nil, "transportx": nil},
			rule: wire,
		},
		{
			name: "an import cycle through the module ends",
			g:    Graph{"fsm": {"a"}, "a": {"b"}, "b": {"a", "transport/sigv4"}, "transport/sigv4": nil},
			rule: wire,
			want: [][]string{{"fsm", "a", "b", "transport/sigv4"}},
		},
		{
			name:  "a rule that covers nothing is an error, not a pass",
			g:     Graph{"state": {"transport/awsjson"}, "transport/awsjson": nil},
			rule:  wire,
			error: "covers no package",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			vs, err := Check(tc.g, tc.rule)
			if tc.error != "" {
				if err == nil || !strings.Contains(err.Error(), tc.error) {
					t.Fatalf("Check error = %v, want one containing %q", err, tc.error)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got [][]string
			for _, v := range vs {
				got = append(got, v.Chain)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("chains = %q, want %q", got, tc.want)
			}
		})
	}
}

// TestViolationSaysWhy: the failure message names the rule's reason and the
// whole chain, so whoever breaks the layout learns where from the output.
func TestViolationSaysWhy(t *testing.T) {
	v := Violation{Rule: Rule{Why: "crypto is pure"}, Chain: []string{"crypto", "internal/x", "fsm"}}
	want := "crypto must not reach fsm: crypto is pure\n\tcrypto → internal/x → fsm"
	if got := v.String(); got != want {
		t.Fatalf("String() = %q, want %q", got, want)
	}
}

func TestMatch(t *testing.T) {
	for _, tc := range []struct {
		pattern, pkg string
		want         bool
	}{
		{"fsm", "fsm", true},
		{"fsm", "fsm/fsmpb", false},
		{"fsm/...", "fsm", true},
		{"fsm/...", "fsm/fsmpb", true},
		{"fsm/...", "fsmx", false},
		{"cluster/...", "clusterclock", false},
		{"transport/...", "transport", true},
		{"transport/...", "transport/awsjson", true},
	} {
		if got := Match(tc.pattern, tc.pkg); got != tc.want {
			t.Errorf("Match(%q, %q) = %v, want %v", tc.pattern, tc.pkg, got, tc.want)
		}
	}
}

// TestEveryRuleBites: each of Rules, given a graph in which the package it
// covers imports the first package it forbids, reports that import; a rule
// whose patterns were mistyped would report nothing and pass on any module.
func TestEveryRuleBites(t *testing.T) {
	for _, rule := range Rules {
		from := strings.TrimSuffix(rule.From, "/...")
		for _, never := range rule.Never {
			to := strings.TrimSuffix(never, "/...")
			vs, err := Check(Graph{from: {to}, to: nil}, rule)
			if err != nil {
				t.Fatal(err)
			}
			if len(vs) != 1 || !reflect.DeepEqual(vs[0].Chain, []string{from, to}) {
				t.Errorf("rule for %s, given %s → %s, reported %v", rule.From, from, to, vs)
			}
		}
	}
}
