package policy

import (
	"fmt"
	"sort"
	"unicode/utf8"
)

// Kind says which rules a document was parsed under.
type Kind uint8

const (
	// KeyPolicy documents are attached to a KMS key; every statement names
	// its principals.
	KeyPolicy Kind = 1
	// IdentityPolicy documents are attached to an IAM user and name no
	// principal: the user is the principal.
	IdentityPolicy Kind = 2
)

func (k Kind) String() string {
	switch k {
	case KeyPolicy:
		return "key policy"
	case IdentityPolicy:
		return "identity policy"
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// Policy is a parsed, validated policy document. It is immutable and safe
// for concurrent use; keep the original bytes to answer GetKeyPolicy, since
// AWS returns the document as it was put.
type Policy struct {
	Version string // "2012-10-17" or "2008-10-17" (the default when absent)
	ID      string
	kind    Kind
	stmts   []statement
}

type statement struct {
	sid    string
	effect Effect
	// Principal: anyPrincipal for "*"; otherwise ARNs with bare account ids
	// already turned into root ARNs. Unused in identity policies.
	anyPrincipal bool
	principals   []string
	actions      []string
	notAction    bool
	resources    []string
	notResource  bool
	conditions   []condition
}

// Kind reports whether p is a key policy or an identity policy.
func (p *Policy) Kind() Kind { return p.kind }

// Principals lists the principal ARNs that p's statements name, sorted and
// without duplicates ("*" is left out). AWS refuses a key policy that names
// a principal that does not exist; the caller checks these against its
// users with the same "invalid principals" refusal.
func (p *Policy) Principals() []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range p.stmts {
		for _, a := range s.principals {
			if !seen[a] {
				seen[a] = true
				out = append(out, a)
			}
		}
	}
	sort.Strings(out)
	return out
}

// Parse parses and validates a key policy. Every refusal is a *MalformedError.
func Parse(doc []byte) (*Policy, error) { return parse(doc, KeyPolicy) }

// ParseIdentity parses and validates an IAM identity policy (one attached to
// a user), which must not name principals. Every refusal is a *MalformedError.
func ParseIdentity(doc []byte) (*Policy, error) { return parse(doc, IdentityPolicy) }

func parse(doc []byte, kind Kind) (*Policy, error) {
	if len(doc) > MaxSize {
		return nil, &MalformedError{Reason: reasonTooLarge, Detail: fmt.Sprintf("the document has %d bytes", len(doc)), Err: ErrTooLarge}
	}
	if err := checkCharacters(doc); err != nil {
		return nil, err
	}
	root, offset, err := decodeTree(doc)
	if err != nil {
		return nil, &MalformedError{Reason: reasonSyntax, Part: fmt.Sprintf("byte %d", offset), Detail: "invalid JSON: " + err.Error(), Err: err}
	}
	if root.kind != kindObject {
		return nil, malformed(reasonSyntax, "", "the document is "+root.kind.String()+", not an object")
	}
	p := &Policy{Version: "2008-10-17", kind: kind}
	var stmts *node
	for _, m := range root.obj {
		switch m.key {
		case "Version":
			if m.val.kind != kindString || (m.val.str != "2012-10-17" && m.val.str != "2008-10-17") {
				return nil, malformed(reasonSyntax, "Version", `must be "2012-10-17" or "2008-10-17"`)
			}
			p.Version = m.val.str
		case "Id":
			if m.val.kind != kindString {
				return nil, malformed(reasonSyntax, "Id", "must be a string")
			}
			p.ID = m.val.str
		case "Statement":
			stmts = m.val
		default:
			return nil, malformed(reasonSyntax, fmt.Sprintf("%q", m.key), "unknown top-level element")
		}
	}
	if stmts == nil {
		return nil, malformed(reasonSyntax, "Statement", "missing")
	}
	pp := parser{kind: kind, variables: p.Version == "2012-10-17"}
	switch stmts.kind {
	case kindObject:
		s, err := pp.statement(stmts, "Statement")
		if err != nil {
			return nil, err
		}
		p.stmts = []statement{s}
	case kindArray:
		if len(stmts.arr) == 0 {
			return nil, malformed(reasonSyntax, "Statement", "no statements")
		}
		for i, n := range stmts.arr {
			s, err := pp.statement(n, fmt.Sprintf("Statement[%d]", i))
			if err != nil {
				return nil, err
			}
			p.stmts = append(p.stmts, s)
		}
	default:
		return nil, malformed(reasonSyntax, "Statement", "must be an object or an array of objects, not "+stmts.kind.String())
	}
	sids := map[string]bool{}
	for i, s := range p.stmts {
		if s.sid == "" {
			continue
		}
		if sids[s.sid] {
			return nil, malformed(reasonSid, fmt.Sprintf("Statement[%d].Sid", i), fmt.Sprintf("%q is used twice", s.sid))
		}
		sids[s.sid] = true
	}
	return p, nil
}

// checkCharacters applies AWS KMS's character rule for key policies: tab,
// line feed, carriage return and U+0020 through U+00FF, in valid UTF-8.
// Printable ASCII runs through U+007E; U+0080–U+009F are the C1 controls.
func checkCharacters(doc []byte) error {
	for i := 0; i < len(doc); {
		r, size := utf8.DecodeRune(doc[i:])
		if r == utf8.RuneError && size <= 1 {
			return malformed(reasonCharacters, "", fmt.Sprintf("invalid UTF-8 at byte %d", i))
		}
		if !(r == '\t' || r == '\n' || r == '\r' || (r >= 0x20 && r <= 0x7e) || (r >= 0xa0 && r <= 0xff)) {
			return malformed(reasonCharacters, "", fmt.Sprintf("%U at byte %d", r, i))
		}
		i += size
	}
	return nil
}
