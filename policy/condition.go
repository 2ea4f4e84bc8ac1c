package policy

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// op is a condition operator without its set prefix or IfExists suffix.
type op uint8

const (
	opStringEquals op = iota + 1
	opStringNotEquals
	opStringEqualsIgnoreCase
	opStringNotEqualsIgnoreCase
	opStringLike
	opStringNotLike
	opArnEquals
	opArnNotEquals
	opArnLike
	opArnNotLike
	opBool
	opNull
	opNumericEquals
	opNumericNotEquals
	opNumericLessThan
	opNumericLessThanEquals
	opNumericGreaterThan
	opNumericGreaterThanEquals
)

var operators = map[string]op{
	"StringEquals":              opStringEquals,
	"StringNotEquals":           opStringNotEquals,
	"StringEqualsIgnoreCase":    opStringEqualsIgnoreCase,
	"StringNotEqualsIgnoreCase": opStringNotEqualsIgnoreCase,
	"StringLike":                opStringLike,
	"StringNotLike":             opStringNotLike,
	"ArnEquals":                 opArnEquals,
	"ArnNotEquals":              opArnNotEquals,
	"ArnLike":                   opArnLike,
	"ArnNotLike":                opArnNotLike,
	"Bool":                      opBool,
	"Null":                      opNull,
	// Numeric operators serve kms:ValidTo (Unix seconds), as AWS's
	// examples use NumericLessThanEquals on it.
	"NumericEquals":            opNumericEquals,
	"NumericNotEquals":         opNumericNotEquals,
	"NumericLessThan":          opNumericLessThan,
	"NumericLessThanEquals":    opNumericLessThanEquals,
	"NumericGreaterThan":       opNumericGreaterThan,
	"NumericGreaterThanEquals": opNumericGreaterThanEquals,
}

// negated operators are true where their positive twin is false, including
// when the key is missing from the request (IAM: "If the policy condition
// requires that the key is not matched ... and the right key is not present,
// the condition is true").
func (o op) negated() bool {
	switch o {
	case opStringNotEquals, opStringNotEqualsIgnoreCase, opStringNotLike, opArnNotEquals, opArnNotLike, opNumericNotEquals:
		return true
	}
	return false
}

// matches is the positive sense of o for one policy value and one request value.
func (o op) matches(pv, rv string) bool {
	switch o {
	case opStringEquals, opStringNotEquals:
		return pv == rv
	case opStringEqualsIgnoreCase, opStringNotEqualsIgnoreCase:
		return strings.EqualFold(pv, rv)
	case opStringLike, opStringNotLike:
		return glob(pv, rv)
	case opArnEquals, opArnNotEquals, opArnLike, opArnNotLike:
		return arnLike(pv, rv)
	case opBool:
		return strings.EqualFold(pv, rv)
	case opNumericEquals, opNumericNotEquals, opNumericLessThan, opNumericLessThanEquals, opNumericGreaterThan, opNumericGreaterThanEquals:
		return o.compares(pv, rv)
	}
	return false
}

// numeric reports whether o is one of the Numeric operators.
func (o op) numeric() bool { return o >= opNumericEquals && o <= opNumericGreaterThanEquals }

// decimal is the only number form a Numeric condition takes: an optional
// sign, digits, an optional fraction. strconv.ParseFloat alone would also
// read "Inf", "NaN", "0x1p40" and "1_000", which IAM does not.
var decimal = regexp.MustCompile(`^[-+]?[0-9]{1,30}(\.[0-9]{1,30})?$`)

// compares is a numeric operator's positive sense: the request's value
// against the policy's. A request value that is not a decimal matches
// nothing, so a positive operator denies it and NumericNotEquals allows it.
func (o op) compares(pv, rv string) bool {
	if !decimal.MatchString(pv) || !decimal.MatchString(rv) {
		return false
	}
	p, perr := strconv.ParseFloat(pv, 64)
	r, rerr := strconv.ParseFloat(rv, 64)
	if perr != nil || rerr != nil {
		return false
	}
	switch o {
	case opNumericEquals, opNumericNotEquals:
		return r == p
	case opNumericLessThan:
		return r < p
	case opNumericLessThanEquals:
		return r <= p
	case opNumericGreaterThan:
		return r > p
	case opNumericGreaterThanEquals:
		return r >= p
	}
	return false
}

type setMode uint8

const (
	setNone setMode = iota
	setForAllValues
	setForAnyValue
)

type keyKind uint8

const (
	keyEncryptionContext keyKind = iota + 1 // kms:EncryptionContext:<context-key>
	keyEncryptionContextKeys
	keyCallerAccount
	keyPrincipalAccount
	keyPrincipalArn
	keySecureTransport
	keyKeySpec
	keyKeyUsage
	keyKeyOrigin
	keySigningAlgorithm
	keyMessageType
	keyMacAlgorithm
	keyEncryptionAlgorithm
	keyWrappingAlgorithm
	keyWrappingKeySpec
	keyExpirationModel
	keyValidTo
)

// condKeys are the supported keys, by lower-cased name: IAM condition key
// names are case-insensitive.
var condKeys = map[string]keyKind{
	"kms:encryptioncontextkeys": keyEncryptionContextKeys,
	"kms:calleraccount":         keyCallerAccount,
	"aws:principalaccount":      keyPrincipalAccount,
	"aws:principalarn":          keyPrincipalArn,
	"aws:securetransport":       keySecureTransport,
	"kms:keyspec":               keyKeySpec,
	"kms:keyusage":              keyKeyUsage,
	"kms:keyorigin":             keyKeyOrigin,
	"kms:signingalgorithm":      keySigningAlgorithm,
	"kms:messagetype":           keyMessageType,
	"kms:macalgorithm":          keyMacAlgorithm,
	"kms:encryptionalgorithm":   keyEncryptionAlgorithm,
	"kms:wrappingalgorithm":     keyWrappingAlgorithm,
	"kms:wrappingkeyspec":       keyWrappingKeySpec,
	"kms:expirationmodel":       keyExpirationModel,
	"kms:validto":               keyValidTo,
}

const ecPrefix = "kms:encryptioncontext:"

type condition struct {
	op       op
	set      setMode
	ifExists bool
	key      keyKind
	ctxKey   string // for keyEncryptionContext, as written
	values   []string
}

func (pp parser) conditions(n *node, part string) ([]condition, error) {
	if n.kind != kindObject {
		return nil, malformed(reasonSyntax, part, "must be an object, not "+n.kind.String())
	}
	var out []condition
	for _, m := range n.obj {
		at := fmt.Sprintf("%s.%q", part, m.key)
		name, set := m.key, setNone
		if rest, ok := strings.CutPrefix(name, "ForAllValues:"); ok {
			name, set = rest, setForAllValues
		} else if rest, ok := strings.CutPrefix(name, "ForAnyValue:"); ok {
			name, set = rest, setForAnyValue
		}
		base, ifExists := strings.CutSuffix(name, "IfExists")
		o, ok := operators[base]
		if !ok || (o == opNull && (ifExists || set != setNone)) {
			return nil, malformed(reasonOperator, at, "supported: StringEquals, StringNotEquals, StringEqualsIgnoreCase, StringNotEqualsIgnoreCase, "+
				"StringLike, StringNotLike, ArnEquals, ArnNotEquals, ArnLike, ArnNotLike, Bool, NumericEquals, NumericNotEquals, "+
				"NumericLessThan, NumericLessThanEquals, NumericGreaterThan, NumericGreaterThanEquals (each with an optional ForAllValues:/ForAnyValue: "+
				"prefix and IfExists suffix) and Null")
		}
		if m.val.kind != kindObject {
			return nil, malformed(reasonSyntax, at, "must be an object of condition keys, not "+m.val.kind.String())
		}
		for _, km := range m.val.obj {
			kat := fmt.Sprintf("%s.%q", at, km.key)
			c := condition{op: o, set: set, ifExists: ifExists}
			lower := strings.ToLower(km.key)
			if k, ok := condKeys[lower]; ok {
				c.key = k
			} else if strings.HasPrefix(lower, ecPrefix) && len(km.key) > len(ecPrefix) {
				c.key, c.ctxKey = keyEncryptionContext, km.key[len(ecPrefix):]
				if set == setForAllValues {
					return nil, malformed(reasonOverlyPermissive, kat, "")
				}
			} else {
				return nil, malformed(reasonConditionKey, kat, "supported: kms:EncryptionContext:<key>, kms:EncryptionContextKeys, "+
					"kms:CallerAccount, kms:KeySpec, kms:KeyUsage, kms:KeyOrigin, kms:SigningAlgorithm, kms:MessageType, kms:MacAlgorithm, "+
					"kms:EncryptionAlgorithm, kms:WrappingAlgorithm, kms:WrappingKeySpec, kms:ExpirationModel, kms:ValidTo, aws:PrincipalAccount, aws:PrincipalArn, aws:SecureTransport")
			}
			vals, err := pp.conditionValues(km.val, kat, o)
			if err != nil {
				return nil, err
			}
			c.values = vals
			out = append(out, c)
		}
	}
	return out, nil
}

func (pp parser) conditionValues(n *node, part string, o op) ([]string, error) {
	var items []*node
	switch n.kind {
	case kindArray:
		if len(n.arr) == 0 {
			return nil, malformed(reasonConditionValue, part, "is an empty list")
		}
		items = n.arr
	default:
		items = []*node{n}
	}
	out := make([]string, 0, len(items))
	for _, v := range items {
		var s string
		switch v.kind {
		case kindString, kindNumber:
			s = v.str
		case kindBool:
			s = fmt.Sprint(v.boolean)
		default:
			return nil, malformed(reasonConditionValue, part, "values must be strings, numbers or booleans, not "+v.kind.String())
		}
		if (o == opBool || o == opNull) && !strings.EqualFold(s, "true") && !strings.EqualFold(s, "false") {
			return nil, malformed(reasonConditionValue, part, fmt.Sprintf(`%q is not "true" or "false"`, s))
		}
		if o.numeric() && !decimal.MatchString(s) {
			return nil, malformed(reasonConditionValue, part, fmt.Sprintf("%q is not a decimal number", s))
		}
		if pp.variables && strings.Contains(s, "${") {
			return nil, malformed(reasonVariables, part, fmt.Sprintf("%q", s))
		}
		out = append(out, s)
	}
	return out, nil
}

// lookup returns the request's values for the key; none means the key is
// not in the request context. An empty encryption context is no context:
// AWS puts kms:EncryptionContextKeys in the request only when there is one.
func (c *condition) lookup(req *Request) []string {
	one := func(s string) []string {
		if s == "" {
			return nil
		}
		return []string{s}
	}
	switch c.key {
	case keyEncryptionContext:
		// The context key in the condition key name is not case-sensitive
		// (AWS KMS developer guide, "Case sensitivity of the encryption
		// context condition"), so AppName in the policy meets appname in the
		// request; if the request holds both spellings, both values count.
		var out []string
		for k, v := range req.EncryptionContext {
			if strings.EqualFold(k, c.ctxKey) {
				out = append(out, v)
			}
		}
		sort.Strings(out)
		return out
	case keyEncryptionContextKeys:
		out := make([]string, 0, len(req.EncryptionContext))
		for k := range req.EncryptionContext {
			out = append(out, k)
		}
		sort.Strings(out)
		return out
	case keyCallerAccount, keyPrincipalAccount:
		return one(principalAccount(req))
	case keyPrincipalArn:
		return one(req.PrincipalARN)
	case keySecureTransport:
		return []string{fmt.Sprint(req.SecureTransport)}
	case keyKeySpec:
		return one(req.KeySpec)
	case keyKeyUsage:
		return one(req.KeyUsage)
	case keyKeyOrigin:
		return one(req.KeyOrigin)
	case keySigningAlgorithm:
		return one(req.Signing)
	case keyMessageType:
		return one(req.MessageType)
	case keyMacAlgorithm:
		return one(req.Mac)
	case keyEncryptionAlgorithm:
		return one(req.Encryption)
	case keyWrappingAlgorithm:
		return one(req.WrappingAlgorithm)
	case keyWrappingKeySpec:
		return one(req.WrappingKeySpec)
	case keyExpirationModel:
		return one(req.ExpirationModel)
	case keyValidTo:
		return one(req.ValidTo)
	}
	return nil
}

// holds evaluates one condition key under one operator against the request.
// Policy values are ORed (NORed for a negated operator); set operators apply
// that test to each request value, ForAllValues being true of an empty set
// and ForAnyValue false.
func (c *condition) holds(req *Request) bool {
	rvs := c.lookup(req)
	if c.op == opNull {
		for _, pv := range c.values {
			if strings.EqualFold(pv, "true") == (len(rvs) == 0) {
				return true
			}
		}
		return false
	}
	if len(rvs) == 0 {
		switch {
		case c.ifExists, c.set == setForAllValues:
			return true
		case c.set == setForAnyValue:
			return false
		}
		return c.op.negated()
	}
	positive := func(rv string) bool {
		for _, pv := range c.values {
			if c.op.matches(pv, rv) {
				return true
			}
		}
		return false
	}
	// one is the operator's own sense for a single request value.
	one := func(rv string) bool { return positive(rv) != c.op.negated() }
	switch c.set {
	case setForAllValues:
		for _, rv := range rvs {
			if !one(rv) {
				return false
			}
		}
		return true
	case setForAnyValue:
		for _, rv := range rvs {
			if one(rv) {
				return true
			}
		}
		return false
	}
	// Without a set operator, several request values (both spellings of a
	// context key, or kms:EncryptionContextKeys) match if any value matches
	// positively; a negated operator is true only if none does.
	for _, rv := range rvs {
		if positive(rv) {
			return !c.op.negated()
		}
	}
	return c.op.negated()
}
