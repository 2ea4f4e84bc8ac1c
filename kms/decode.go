package kms

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/keyraft/keyraft/transport/awsjson"
)

// decode parses an AWS JSON 1.1 request body into v. An empty body is `{}`.
// Unknown members are ignored, as AWS does; wrong types and bad base64 are
// SerializationException. The common shape of a request is read by
// decodeFast; anything it does not vouch for goes through encoding/json,
// which is the reference for every answer (FuzzDecodeFast holds them equal).
func decode(body []byte, v any) *Error {
	if decodeFast(body, v) {
		return nil
	}
	reflect.ValueOf(v).Elem().SetZero() // undo what the fast path filled
	return decodeSlow(body, v)
}

func decodeSlow(body []byte, v any) *Error {
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		body = []byte("{}")
	}
	if body[0] != '{' {
		return newErr("SerializationException", http.StatusBadRequest, "Start of structure or map found where not expected.")
	}
	// One pass: Unmarshal also refuses content after the object.
	if err := json.Unmarshal(body, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return newErr("SerializationException", http.StatusBadRequest, "Invalid value for member '%s'", te.Field)
		}
		return newErr("SerializationException", http.StatusBadRequest, "The request body is not valid JSON.")
	}
	return nil
}

// decodeFast fills the request struct *v from a body whose members it can
// take without doubt: exact field names, each once; plain strings and
// base64 blobs are taken from the body directly, other members decoded one
// by one with encoding/json. A 4 KiB Encrypt spent most of its decoding in
// encoding/json's byte-by-byte scans of the base64 plaintext. It reports
// false, leaving *v partly filled, for anything else.
func decodeFast(body []byte, v any) bool {
	rv := reflect.ValueOf(v).Elem()
	fields := fieldsOf(rv.Type())
	if fields == nil {
		return false
	}
	var seen uint64
	return awsjson.Members(body, func(name, value []byte) bool {
		i, ok := fields.index[string(name)]
		if !ok {
			// encoding/json matches names case-insensitively: leave
			// near misses to it, ignore the truly unknown.
			for known := range fields.index {
				if strings.EqualFold(known, string(name)) {
					return false
				}
			}
			return true
		}
		if seen&(1<<i) != 0 {
			return false
		}
		seen |= 1 << i
		f := rv.Field(fields.field[i])
		switch f.Type() {
		case bytesType:
			s, ok := awsjson.StringValue(value)
			if !ok {
				return false
			}
			b := make([]byte, base64.StdEncoding.DecodedLen(len(s)))
			n, err := base64.StdEncoding.Decode(b, s)
			if err != nil {
				return false
			}
			f.SetBytes(b[:n])
			return true
		case stringType:
			if s, ok := awsjson.StringValue(value); ok && utf8.Valid(s) {
				f.SetString(string(s))
				return true
			}
		}
		return json.Unmarshal(value, f.Addr().Interface()) == nil
	})
}

var bytesType, stringType = reflect.TypeFor[[]byte](), reflect.TypeFor[string]()

type fieldTable struct {
	index map[string]int // member name -> position in field
	field []int          // struct field numbers
}

var fieldTables sync.Map // reflect.Type -> *fieldTable (nil: not for the fast path)

// fieldsOf maps a request struct's member names to its fields, or returns
// nil for types the fast path leaves alone (tags beyond a name, too many
// fields for its bit set).
func fieldsOf(t reflect.Type) *fieldTable {
	if ft, ok := fieldTables.Load(t); ok {
		return ft.(*fieldTable)
	}
	var ft *fieldTable
	if t.Kind() == reflect.Struct && t.NumField() <= 64 {
		ft = &fieldTable{index: map[string]int{}}
		for i := range t.NumField() {
			sf := t.Field(i)
			if !sf.IsExported() {
				continue
			}
			name, opts, _ := strings.Cut(sf.Tag.Get("json"), ",")
			if name == "-" || (opts != "" && opts != "omitempty") || sf.Anonymous {
				ft = nil
				break
			}
			if name == "" {
				name = sf.Name
			}
			ft.index[name] = len(ft.field)
			ft.field = append(ft.field, i)
		}
	}
	fieldTables.Store(t, ft)
	return ft
}

// checkLen validates a string member's length in characters, as AWS counts.
func checkLen(field, s string, minLen, maxLen int) *Error {
	n := utf8.RuneCountInString(s)
	if n < minLen {
		return validation(field, "Member must have length greater than or equal to "+strconv.Itoa(minLen))
	}
	if n > maxLen {
		return validation(field, "Member must have length less than or equal to "+strconv.Itoa(maxLen))
	}
	return nil
}

func checkBlobLen(field string, b []byte, minLen, maxLen int) *Error {
	if len(b) < minLen {
		return validation(field, "Member must have length greater than or equal to "+strconv.Itoa(minLen))
	}
	if len(b) > maxLen {
		return validation(field, "Member must have length less than or equal to "+strconv.Itoa(maxLen))
	}
	return nil
}

func checkRange(field string, v *int32, lo, hi int32) *Error {
	if v == nil {
		return nil
	}
	if *v < lo {
		return validation(field, "Member must have value greater than or equal to "+strconv.Itoa(int(lo)))
	}
	if *v > hi {
		return validation(field, "Member must have value less than or equal to "+strconv.Itoa(int(hi)))
	}
	return nil
}

func checkEnum(field, v string, allowed ...string) *Error {
	for _, a := range allowed {
		if v == a {
			return nil
		}
	}
	b, _ := json.Marshal(allowed)
	return validation(field, "Member must satisfy enum value set: "+string(b))
}
