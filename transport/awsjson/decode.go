package awsjson

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"unicode/utf8"
)

// DecodeError is why a request body could not be decoded; AWS answers it
// with a SerializationException.
type DecodeError struct {
	// Member is the request member at fault, "" for the body as a whole.
	Member  string
	Message string
}

func (e *DecodeError) Error() string { return e.Message }

var (
	errNotObject = &DecodeError{Message: "Start of structure or map found where not expected."}
	errSyntax    = &DecodeError{Message: "The request body is not valid JSON."}
	errUTF8      = &DecodeError{Message: "The request body is not valid UTF-8."}
)

// Decode fills the request struct *v from an AWS JSON 1.1 body the way AWS
// reads it: member names match exactly (a name that differs only in case
// is an unknown member, ignored as AWS ignores unknown members), a member
// named twice is refused, every string must be UTF-8, and an empty body is
// `{}`. encoding/json, which folds case and lets the last duplicate win,
// made one body mean one thing to an operation and another to its audit
// event.
//
// Struct fields are named by their json tag's name or their Go name;
// supported field types are strings, []byte (base64), bools, integers,
// floats, pointers, slices, maps with string keys, structs and `any`
// (kept as encoding/json decodes it).
func Decode(body []byte, v any) *DecodeError {
	if !utf8.Valid(body) {
		return errUTF8
	}
	i := skipSpace(body, 0)
	if i == len(body) {
		return nil
	}
	if body[i] != '{' {
		return errNotObject
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		panic("awsjson.Decode: not a pointer")
	}
	// The object's own walk checks its syntax; scanValue would first
	// check the whole body with json.Valid, a second pass over a 4 KiB
	// base64 plaintext.
	end := len(body)
	for end > i && (body[end-1] == ' ' || body[end-1] == '\t' || body[end-1] == '\n' || body[end-1] == '\r') {
		end--
	}
	return decodeValue(body[i:end], rv.Elem(), "")
}

// decodeValue decodes one JSON value (raw, no surrounding space) into f.
// member names the request member it belongs to, for errors.
func decodeValue(raw []byte, f reflect.Value, member string) *DecodeError {
	if string(raw) == "null" {
		f.SetZero()
		return nil
	}
	switch f.Kind() {
	case reflect.Pointer:
		p := reflect.New(f.Type().Elem())
		if e := decodeValue(raw, p.Elem(), member); e != nil {
			return e
		}
		f.Set(p)
		return nil
	case reflect.Struct:
		return decodeStruct(raw, f, member)
	case reflect.Map:
		if f.Type().Key().Kind() != reflect.String {
			break
		}
		return decodeMap(raw, f, member)
	case reflect.Slice:
		if f.Type().Elem().Kind() == reflect.Uint8 {
			return decodeBlob(raw, f, member)
		}
		return decodeSlice(raw, f, member)
	case reflect.String:
		if s, ok := StringValue(raw); ok {
			f.SetString(string(s))
			return nil
		}
	case reflect.Interface:
		if !json.Valid(raw) {
			return errSyntax
		}
	}
	// Scalars (numbers, booleans, escaped strings) and `any`: no member
	// names inside, so encoding/json reads them as AWS does.
	if err := json.Unmarshal(raw, f.Addr().Interface()); err != nil {
		if !json.Valid(raw) {
			return errSyntax
		}
		return invalid(member)
	}
	return nil
}

func invalid(member string) *DecodeError {
	if member == "" {
		return errNotObject
	}
	return &DecodeError{Member: member, Message: fmt.Sprintf("Invalid value for member '%s'", member)}
}

func decodeBlob(raw []byte, f reflect.Value, member string) *DecodeError {
	s, ok := StringValue(raw)
	if !ok {
		var str string
		if err := json.Unmarshal(raw, &str); err != nil {
			if !json.Valid(raw) {
				return errSyntax
			}
			return invalid(member)
		}
		s = []byte(str)
	}
	b := make([]byte, base64.StdEncoding.DecodedLen(len(s)))
	n, err := base64.StdEncoding.Decode(b, s)
	if err != nil {
		return invalid(member)
	}
	f.SetBytes(b[:n])
	return nil
}

func decodeStruct(raw []byte, f reflect.Value, member string) *DecodeError {
	if raw[0] != '{' {
		return invalidOrSyntax(raw, member)
	}
	fields := fieldsOf(f.Type())
	var seen uint64
	return object(raw, func(name string, value []byte) *DecodeError {
		i, ok := fields.index[name]
		if !ok {
			return skip(value)
		}
		if seen&(1<<i) != 0 {
			return &DecodeError{Member: name, Message: fmt.Sprintf("Member '%s' appears more than once.", name)}
		}
		seen |= 1 << i
		return decodeValue(value, f.Field(fields.field[i]), name)
	})
}

func decodeMap(raw []byte, f reflect.Value, member string) *DecodeError {
	if raw[0] != '{' {
		return invalidOrSyntax(raw, member)
	}
	m := reflect.MakeMap(f.Type())
	et, kt := f.Type().Elem(), f.Type().Key()
	e := object(raw, func(name string, value []byte) *DecodeError {
		k := reflect.ValueOf(name).Convert(kt)
		if m.MapIndex(k).IsValid() {
			return &DecodeError{Member: member, Message: fmt.Sprintf("Member '%s' has the key '%s' more than once.", member, truncate(name))}
		}
		ev := reflect.New(et).Elem()
		if e := decodeValue(value, ev, member); e != nil {
			return e
		}
		m.SetMapIndex(k, ev)
		return nil
	})
	if e != nil {
		return e
	}
	f.Set(m)
	return nil
}

func decodeSlice(raw []byte, f reflect.Value, member string) *DecodeError {
	if raw[0] != '[' {
		return invalidOrSyntax(raw, member)
	}
	s := reflect.MakeSlice(f.Type(), 0, 0)
	e := array(raw, func(value []byte) *DecodeError {
		ev := reflect.New(f.Type().Elem()).Elem()
		if e := decodeValue(value, ev, member); e != nil {
			return e
		}
		s = reflect.Append(s, ev)
		return nil
	})
	if e != nil {
		return e
	}
	f.Set(s)
	return nil
}

func invalidOrSyntax(raw []byte, member string) *DecodeError {
	if !json.Valid(raw) {
		return errSyntax
	}
	return invalid(member)
}

// skip checks a value nobody reads; a string was checked when it was
// scanned.
func skip(value []byte) *DecodeError {
	if value[0] == '"' || json.Valid(value) {
		return nil
	}
	return errSyntax
}

// truncate bounds a client's string quoted in an error.
func truncate(s string) string {
	if len(s) <= 64 {
		return s
	}
	for i := 64; i > 0; i-- {
		if utf8.RuneStart(s[i]) {
			return s[:i] + "…"
		}
	}
	return ""
}

// object calls fn with each member of the JSON object raw (which scanValue
// delimited), its name unescaped.
func object(raw []byte, fn func(name string, value []byte) *DecodeError) *DecodeError {
	i := skipSpace(raw, 1)
	if i < len(raw) && raw[i] == '}' {
		return trailing(raw, i+1)
	}
	for {
		if i >= len(raw) || raw[i] != '"' {
			return errSyntax
		}
		end, plain := scanString(raw, i)
		if end < 0 {
			return errSyntax
		}
		name := string(raw[i+1 : end-1])
		if !plain {
			if json.Unmarshal(raw[i:end], &name) != nil {
				return errSyntax
			}
		}
		i = skipSpace(raw, end)
		if i >= len(raw) || raw[i] != ':' {
			return errSyntax
		}
		i = skipSpace(raw, i+1)
		end = scanValue(raw, i)
		if end < 0 {
			return errSyntax
		}
		if e := fn(name, raw[i:end]); e != nil {
			return e
		}
		i = skipSpace(raw, end)
		if i >= len(raw) {
			return errSyntax
		}
		switch raw[i] {
		case ',':
			i = skipSpace(raw, i+1)
		case '}':
			return trailing(raw, i+1)
		default:
			return errSyntax
		}
	}
}

// array calls fn with each element of the JSON array raw.
func array(raw []byte, fn func(value []byte) *DecodeError) *DecodeError {
	i := skipSpace(raw, 1)
	if i < len(raw) && raw[i] == ']' {
		return trailing(raw, i+1)
	}
	for {
		end := scanValue(raw, i)
		if end < 0 {
			return errSyntax
		}
		if e := fn(raw[i:end]); e != nil {
			return e
		}
		i = skipSpace(raw, end)
		if i >= len(raw) {
			return errSyntax
		}
		switch raw[i] {
		case ',':
			i = skipSpace(raw, i+1)
		case ']':
			return trailing(raw, i+1)
		default:
			return errSyntax
		}
	}
}

func trailing(raw []byte, i int) *DecodeError {
	if i != len(raw) {
		return errSyntax
	}
	return nil
}

type fieldTable struct {
	index map[string]int // member name -> position in field
	field []int          // struct field numbers
}

var fieldTables sync.Map // reflect.Type -> *fieldTable

// fieldsOf maps a struct's member names to its fields: the json tag's
// name, else the Go name. Request structs have at most 64 members.
func fieldsOf(t reflect.Type) *fieldTable {
	if ft, ok := fieldTables.Load(t); ok {
		return ft.(*fieldTable)
	}
	ft := &fieldTable{index: map[string]int{}}
	for i := range t.NumField() {
		sf := t.Field(i)
		name, _, _ := strings.Cut(sf.Tag.Get("json"), ",")
		if !sf.IsExported() || name == "-" {
			continue
		}
		if name == "" {
			name = sf.Name
		}
		ft.index[name] = len(ft.field)
		ft.field = append(ft.field, i)
	}
	if len(ft.field) > 64 {
		panic("awsjson: a request struct with more than 64 members: " + t.String())
	}
	fieldTables.Store(t, ft)
	return ft
}

// Field is the field of the struct v that holds the member name, as Decode
// fills it.
func Field(v reflect.Value, name string) (reflect.Value, bool) {
	ft := fieldsOf(v.Type())
	i, ok := ft.index[name]
	if !ok {
		return reflect.Value{}, false
	}
	return v.Field(ft.field[i]), true
}
