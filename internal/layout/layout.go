package layout

import (
	"fmt"
	"slices"
	"strings"
)

// A Rule says that no package matched by From may reach, directly or through
// any chain of imports, a package matched by one of Never. Patterns name
// packages relative to the module: "fsm" is that package alone, "fsm/..." is
// fsm and every package below it.
type Rule struct {
	From  string
	Never []string
	// Why is printed with every chain that breaks the rule: the reason in
	// DESIGN.md's words, and what to do instead.
	Why string
}

// Rules is DESIGN.md's Layout as the code must keep it. The layers, from the
// bottom: crypto and policy; seal; fsm; kms, iam and audit; the wire
// (transport/...) beside them, knowing none of them; the request pipeline,
// the operator API and the node's wiring on top. A rule forbids reaching the packages it names transitively, not
// merely importing them, because a dependency through an intermediary couples
// the two packages just as much.
var Rules = []Rule{
	{
		From:  "crypto/...",
		Never: []string{"cluster/...", "fsm/...", "transport/..."},
		Why:   "crypto is pure functions over bytes: it knows nothing of the cluster, the state machine or the wire (DESIGN.md, Layout)",
	},
	{
		From:  "seal/...",
		Never: []string{"cluster/...", "transport/..."},
		Why:   "seal holds the root key and the keyring; the cluster and the wire are given a seal, never the reverse (DESIGN.md, Layout; STYLE.md 7)",
	},
	{
		From:  "fsm/...",
		Never: []string{"cluster/...", "transport/..."},
		Why:   "fsm is deterministic Apply over its own state: it must not depend on the Raft node that drives it nor on the wire (DESIGN.md, Layout)",
	},
	{
		From:  "policy/...",
		Never: []string{"cluster/...", "fsm/...", "seal/...", "transport/..."},
		Why:   "policy is pure: it parses and evaluates policy documents it is handed and knows nothing of the cluster, the state machine, the barrier or the wire (policy's doc comment)",
	},
	{
		From:  "transport/...",
		Never: []string{"fsm/...", "kms/...", "iam/...", "audit/...", "cluster/..."},
		Why:   "the wire moves bytes: it knows no state machine, operation semantics, audit log or cluster (DESIGN.md, Layout; STYLE.md 8)",
	},
	{
		From:  "kms/...",
		Never: []string{"transport/..."},
		Why:   wireBelow("kms"),
	},
	{
		From:  "iam/...",
		Never: []string{"transport/..."},
		Why:   wireBelow("iam"),
	},
	{
		From:  "audit/...",
		Never: []string{"transport/..."},
		Why:   wireBelow("audit"),
	},
	{
		From:  "kms/...",
		Never: []string{"cluster/...", "gateway/...", "operator/...", "node/..."},
		Why:   "kms is operation semantics over the replicated state: it proposes through the fsm.Proposer it is given and never reaches the Raft node, the pipeline that calls it or the node that wires it",
	},
	{
		From:  "iam/...",
		Never: []string{"cluster/...", "gateway/...", "operator/...", "node/..."},
		Why:   "iam is operation semantics over the replicated state, as kms is: the pipeline calls it, never the reverse",
	},
	{
		From:  "cluster/...",
		Never: []string{"kms/...", "iam/...", "gateway/...", "operator/...", "node/..."},
		Why:   "cluster runs Raft and membership for whatever state machine it is given; what requests mean is above it",
	},
	{
		From:  "gateway/...",
		Never: []string{"operator/...", "node/..."},
		Why:   "the request pipeline is one package a node wires in; the operator API uses the gateway's forwarding, never the reverse",
	},
	{
		From:  "metrics/...",
		Never: []string{"arn/...", "audit/...", "cluster/...", "config/...", "crypto/...", "fsm/...", "gateway/...", "iam/...", "kms/...", "node/...", "operator/...", "policy/...", "seal/...", "transport/..."},
		Why:   "metrics only defines metrics: every package it instruments imports it, so it imports none of them (it is given functions to read, never the parts)",
	},
	{
		From:  "operator/...",
		Never: []string{"node/..."},
		Why:   "the operator API is given what it serves; only node wires packages together",
	},
}

// wireBelow explains the rule issue 15 brought in. Before it, kms and iam
// imported transport/awsjson for the types that mark a secret in an answer
// (awsjson.Secret, SecretString): operation semantics reached down into the
// wire that should only carry them. Those types now live in
// internal/sensitive, which the wire imports; the message still names the
// old import, for whoever brings it back.
func wireBelow(pkg string) string {
	return pkg + " sits below the wire: the gateway decodes requests and encodes answers and hands " + pkg +
		" plain values; a type " + pkg + " needs from transport/... (issue 15: awsjson.Secret, SecretString, the JSON member scanner)" +
		" belongs in internal/ or in " + pkg + " itself, and the wire imports it from there"
}

// Graph maps each package of the module, by its path relative to the
// module, to the packages of the module it imports. Packages outside the
// module are left out: they cannot lead back into it.
type Graph map[string][]string

// A Violation is one package reaching one forbidden package.
type Violation struct {
	Rule Rule
	// Chain is the shortest import chain from the package the rule covers
	// to the forbidden one, both included.
	Chain []string
}

func (v Violation) String() string {
	return fmt.Sprintf("%s must not reach %s: %s\n\t%s",
		v.Chain[0], v.Chain[len(v.Chain)-1], v.Rule.Why, strings.Join(v.Chain, " → "))
}

// Match reports whether pkg is named by pattern.
func Match(pattern, pkg string) bool {
	if base, ok := strings.CutSuffix(pattern, "/..."); ok {
		return pkg == base || strings.HasPrefix(pkg, base+"/")
	}
	return pkg == pattern
}

// Check returns every violation of rule in g, in a stable order: for each
// package the rule covers, each forbidden package it reaches, by the shortest
// chain. It also returns an error if the rule covers no package of g, since a
// rule whose package was renamed or moved would otherwise pass by checking
// nothing.
func Check(g Graph, rule Rule) ([]Violation, error) {
	var froms []string
	for pkg := range g {
		if Match(rule.From, pkg) {
			froms = append(froms, pkg)
		}
	}
	if len(froms) == 0 {
		return nil, fmt.Errorf("rule for %s covers no package of the module: the layout has moved; update the rule, do not delete it", rule.From)
	}
	slices.Sort(froms)
	var out []Violation
	for _, from := range froms {
		parent := reach(g, from)
		var bad []string
		for pkg := range parent {
			if pkg != from && slices.ContainsFunc(rule.Never, func(p string) bool { return Match(p, pkg) }) {
				bad = append(bad, pkg)
			}
		}
		slices.Sort(bad)
		for _, to := range bad {
			out = append(out, Violation{Rule: rule, Chain: chain(parent, to)})
		}
	}
	return out, nil
}

// reach walks g breadth first from start and returns, for every package
// reached, the package it was first reached from; breadth first makes each
// recorded chain a shortest one.
func reach(g Graph, start string) map[string]string {
	parent := map[string]string{start: ""}
	queue := []string{start}
	for len(queue) > 0 {
		pkg := queue[0]
		queue = queue[1:]
		imports := slices.Clone(g[pkg])
		slices.Sort(imports) // the same chain on every run, whatever order the graph was given in
		for _, imp := range imports {
			if _, seen := parent[imp]; !seen {
				parent[imp] = pkg
				queue = append(queue, imp)
			}
		}
	}
	return parent
}

func chain(parent map[string]string, to string) []string {
	var c []string
	for pkg := to; pkg != ""; pkg = parent[pkg] {
		c = append(c, pkg)
	}
	slices.Reverse(c)
	return c
}
