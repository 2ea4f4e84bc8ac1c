package policy

import (
	"fmt"
	"strings"

	"github.com/keyraft/keyraft/arn"
)

// parser holds what statement parsing needs from the document as a whole.
type parser struct {
	kind Kind
	// variables: a 2012-10-17 document would substitute ${...} policy
	// variables, which keyraft does not support; such a document is refused
	// rather than matched against the literal text. A 2008-10-17 document
	// has no variables, so "${" is literal there, as in AWS.
	variables bool
}

func (pp parser) statement(n *node, part string) (statement, error) {
	var s statement
	if n.kind != kindObject {
		return s, malformed(reasonSyntax, part, "must be an object, not "+n.kind.String())
	}
	var principal, action, notAction, resource, notResource, cond *node
	hasEffect := false
	for _, m := range n.obj {
		at := part + "." + m.key
		switch m.key {
		case "Sid":
			if m.val.kind != kindString {
				return s, malformed(reasonSyntax, at, "must be a string")
			}
			s.sid = m.val.str
		case "Effect":
			switch {
			case m.val.kind == kindString && m.val.str == "Allow":
				s.effect = Allow
			case m.val.kind == kindString && m.val.str == "Deny":
				s.effect = Deny
			default:
				return s, malformed(reasonSyntax, at, `must be "Allow" or "Deny"`)
			}
			hasEffect = true
		case "Principal":
			if pp.kind == IdentityPolicy {
				return s, malformed(reasonNoPrincipal, at, "an identity policy applies to the user it is attached to")
			}
			principal = m.val
		case "NotPrincipal":
			if pp.kind == IdentityPolicy {
				return s, malformed(reasonNoPrincipal, at, "an identity policy applies to the user it is attached to")
			}
			return s, malformed(reasonPrincipals, at, "NotPrincipal is not supported; use Principal with a Deny statement")
		case "Action":
			action = m.val
		case "NotAction":
			notAction = m.val
		case "Resource":
			resource = m.val
		case "NotResource":
			notResource = m.val
		case "Condition":
			cond = m.val
		default:
			return s, malformed(reasonSyntax, fmt.Sprintf("%s.%q", part, m.key), "unknown statement element")
		}
	}
	if !hasEffect {
		return s, malformed(reasonSyntax, part+".Effect", "missing")
	}
	if pp.kind == KeyPolicy {
		if principal == nil {
			return s, malformed(reasonPrincipals, part+".Principal", "missing; every key policy statement names its principals")
		}
		if err := pp.principal(&s, principal, part+".Principal"); err != nil {
			return s, err
		}
	}
	var err error
	switch {
	case action != nil && notAction != nil:
		return s, malformed(reasonSyntax, part, "has both Action and NotAction")
	case action != nil:
		s.actions, err = pp.actions(action, part+".Action")
	case notAction != nil:
		s.notAction = true
		s.actions, err = pp.actions(notAction, part+".NotAction")
	default:
		return s, malformed(reasonActions, part, "has neither Action nor NotAction")
	}
	if err != nil {
		return s, err
	}
	switch {
	case resource != nil && notResource != nil:
		return s, malformed(reasonSyntax, part, "has both Resource and NotResource")
	case resource != nil:
		s.resources, err = pp.resources(resource, part+".Resource")
	case notResource != nil:
		s.notResource = true
		s.resources, err = pp.resources(notResource, part+".NotResource")
	default:
		return s, malformed(reasonResources, part, "has neither Resource nor NotResource")
	}
	if err != nil {
		return s, err
	}
	if cond != nil {
		s.conditions, err = pp.conditions(cond, part+".Condition")
	}
	return s, err
}

// stringList reads a string or a non-empty array of strings; empty is the
// reason given when there is nothing in it.
func stringList(n *node, part, empty string) ([]string, error) {
	switch n.kind {
	case kindString:
		return []string{n.str}, nil
	case kindArray:
		if len(n.arr) == 0 {
			return nil, malformed(empty, part, "is an empty list")
		}
		out := make([]string, 0, len(n.arr))
		for i, v := range n.arr {
			if v.kind != kindString {
				return nil, malformed(reasonSyntax, fmt.Sprintf("%s[%d]", part, i), "must be a string, not "+v.kind.String())
			}
			out = append(out, v.str)
		}
		return out, nil
	}
	return nil, malformed(reasonSyntax, part, "must be a string or a list of strings, not "+n.kind.String())
}

func (pp parser) principal(s *statement, n *node, part string) error {
	if n.kind == kindString {
		if n.str != "*" {
			return malformed(reasonPrincipals, part, fmt.Sprintf(`%q: a principal given as a string must be "*"; name others as {"AWS": ...}`, n.str))
		}
		s.anyPrincipal = true
		return nil
	}
	if n.kind != kindObject || len(n.obj) == 0 {
		return malformed(reasonPrincipals, part, `must be "*" or {"AWS": ...}`)
	}
	for _, m := range n.obj {
		if m.key != "AWS" {
			return malformed(reasonPrincipals, fmt.Sprintf("%s.%q", part, m.key), `only "AWS" principals are supported`)
		}
		list, err := stringList(m.val, part+".AWS", reasonPrincipals)
		if err != nil {
			if me, ok := err.(*MalformedError); ok {
				me.Reason = reasonPrincipals
			}
			return err
		}
		for i, v := range list {
			at := part + ".AWS"
			if m.val.kind == kindArray {
				at = fmt.Sprintf("%s.AWS[%d]", part, i)
			}
			switch {
			case v == "*":
				s.anyPrincipal = true
			case arn.IsAccountID(v):
				s.principals = append(s.principals, arn.Root(v))
			case validPrincipalARN(v):
				s.principals = append(s.principals, v)
			default:
				return malformed(reasonPrincipals, at, fmt.Sprintf("%q is not \"*\", an account id or an IAM principal ARN", v))
			}
		}
	}
	return nil
}

// validPrincipalARN accepts the IAM and STS principal ARNs AWS takes in a
// Principal element: arn:PARTITION:iam::ACCOUNT:root|user/...|role/... and
// arn:PARTITION:sts::ACCOUNT:assumed-role/.... Wildcards are not allowed in
// a principal (AWS refuses them too), so a principal matches one identity.
func validPrincipalARN(v string) bool {
	if strings.ContainsAny(v, "*?") {
		return false
	}
	a, ok := arn.Parse(v)
	if !ok || a.Partition == "" || a.Region != "" || !arn.IsAccountID(a.Account) {
		return false
	}
	name := func(prefix string) bool {
		return strings.HasPrefix(a.Resource, prefix) && len(a.Resource) > len(prefix) && !strings.HasSuffix(a.Resource, "/")
	}
	switch a.Service {
	case "iam":
		return a.Resource == "root" || name("user/") || name("role/")
	case "sts":
		return name("assumed-role/")
	}
	return false
}

func (pp parser) actions(n *node, part string) ([]string, error) {
	list, err := stringList(n, part, reasonActions)
	if err != nil {
		return nil, err
	}
	for i, a := range list {
		at := part
		if n.kind == kindArray {
			at = fmt.Sprintf("%s[%d]", part, i)
		}
		if a == "*" {
			continue
		}
		vendor, name, ok := strings.Cut(a, ":")
		switch {
		case !ok:
			return nil, malformed(reasonVendor, at, fmt.Sprintf("%q", a))
		case strings.Contains(name, ":"):
			return nil, malformed(reasonColon, at, fmt.Sprintf("%q", a))
		case !validVendor(vendor):
			return nil, malformed(reasonSyntax, at, fmt.Sprintf("vendor %q is not valid", vendor))
		case name == "":
			return nil, malformed(reasonSyntax, at, fmt.Sprintf("%q names no action", a))
		}
	}
	return list, nil
}

func validVendor(v string) bool {
	if v == "" {
		return false
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

func (pp parser) resources(n *node, part string) ([]string, error) {
	list, err := stringList(n, part, reasonResources)
	if err != nil {
		return nil, err
	}
	for i, r := range list {
		at := part
		if n.kind == kindArray {
			at = fmt.Sprintf("%s[%d]", part, i)
		}
		if r == "*" {
			continue
		}
		if _, ok := arn.Parse(r); !ok {
			return nil, malformed(fmt.Sprintf(reasonResourceFormat, r), at, "")
		}
		if pp.variables && strings.Contains(r, "${") {
			return nil, malformed(reasonVariables, at, fmt.Sprintf("%q", r))
		}
	}
	return list, nil
}
